<?xml version="1.0" encoding="UTF-8"?>
<!--
  REVIEW101 NetworkAccessApplication -> REVIEW111 AgencyReviewRequest for ONE agency.

  xsl:param agency: CUSTOMS | TAX | SAFE | COMMERCE | MARKET | CIQ (required; the thin
  wrappers review-application-to-<agency>.xsl set it). The output holds ApplicationId,
  Agency and that agency's block only (schemas/review/REVIEW111.xsd):

    CUSTOMS   EnterpriseName, CustomsNo, CreditCode, RegisteredAddress, RequestedRoles
    TAX       EnterpriseName, CreditCode, TaxRegistration
    SAFE      EnterpriseName, CreditCode, BankAccount, FxAccount
    COMMERCE  ForeignTradeRegistration, Licences
    MARKET    EnterpriseName, CreditCode, LegalRepresentative, BusinessScope
    CIQ       QuarantineRegistration

  Sent to no agency (kept by the hub): Enterprise/Contact, SignatureDate, the Header.
  The map splits on purpose, so it does not keep every value in each output; the six
  outputs together hold every other value of the application.

  Header of the request (a new message from the hub to the agency), from params
  when given, else:
    MessageId  = application's MessageId + "-" + agency
    SenderId   = application's ReceiverId (the hub node that received it)
    ReceiverId = "REV-" + agency (REV-CUSTOMS, REV-TAX, ...)
    SentAt     = application's SentAt (XSLT 1.0 has no clock: pass sentAt)

  Input read by local-name (namespace-agnostic), children in any order; output in
  urn:customs-hub:review:1. An unknown field in the application or its Enterprise
  block stops the map (xsl:message terminate="yes") rather than being dropped.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns="urn:customs-hub:review:1">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="agency" select="''"/>
  <xsl:param name="messageId" select="''"/>
  <xsl:param name="senderId" select="''"/>
  <xsl:param name="receiverId" select="''"/>
  <xsl:param name="sentAt" select="''"/>

  <xsl:variable name="ns" select="'urn:customs-hub:review:1'"/>
  <xsl:variable name="agencies" select="' CUSTOMS TAX SAFE COMMERCE MARKET CIQ '"/>
  <xsl:variable name="app-fields"
      select="' Header ApplicationId Enterprise BusinessScope ForeignTradeRegistration BankAccount FxAccount TaxRegistration Licences QuarantineRegistration RequestedRoles SignatureDate '"/>
  <xsl:variable name="enterprise-fields"
      select="' EnterpriseName CreditCode CustomsNo RegisteredAddress LegalRepresentative Contact '"/>

  <xsl:variable name="app" select="/*[local-name() = 'NetworkAccessApplication']"/>
  <xsl:variable name="hdr" select="$app/*[local-name() = 'Header']"/>
  <xsl:variable name="ent" select="$app/*[local-name() = 'Enterprise']"/>

  <xsl:template match="/">
    <xsl:if test="not($app)">
      <xsl:message terminate="yes">review-application-to-agency: not a NetworkAccessApplication</xsl:message>
    </xsl:if>
    <xsl:if test="$agency = '' or not(contains($agencies, concat(' ', $agency, ' ')))">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('review-application-to-agency: agency must be one of', $agencies, 'not &quot;', $agency, '&quot;')"/>
      </xsl:message>
    </xsl:if>
    <xsl:for-each select="$app/*[not(contains($app-fields, concat(' ', local-name(), ' ')))]
                          | $ent/*[not(contains($enterprise-fields, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('review-application-to-agency: unmapped field ', local-name(..), '/', local-name())"/>
      </xsl:message>
    </xsl:for-each>

    <AgencyReviewRequest>
      <Header>
        <MessageId>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$messageId"/>
            <xsl:with-param name="default" select="concat($hdr/*[local-name() = 'MessageId'], '-', $agency)"/>
          </xsl:call-template>
        </MessageId>
        <SenderId>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$senderId"/>
            <xsl:with-param name="default" select="string($hdr/*[local-name() = 'ReceiverId'])"/>
          </xsl:call-template>
        </SenderId>
        <ReceiverId>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$receiverId"/>
            <xsl:with-param name="default" select="concat('REV-', $agency)"/>
          </xsl:call-template>
        </ReceiverId>
        <SentAt>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$sentAt"/>
            <xsl:with-param name="default" select="string($hdr/*[local-name() = 'SentAt'])"/>
          </xsl:call-template>
        </SentAt>
      </Header>
      <xsl:apply-templates select="$app/*[local-name() = 'ApplicationId']" mode="copy"/>
      <Agency><xsl:value-of select="$agency"/></Agency>

      <xsl:choose>
        <xsl:when test="$agency = 'CUSTOMS'">
          <CustomsReview agency="CUSTOMS">
            <xsl:apply-templates select="$ent/*[local-name() = 'EnterpriseName']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'CustomsNo']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'CreditCode']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'RegisteredAddress']" mode="copy"/>
            <xsl:apply-templates select="$app/*[local-name() = 'RequestedRoles']" mode="copy"/>
          </CustomsReview>
        </xsl:when>
        <xsl:when test="$agency = 'TAX'">
          <TaxReview agency="TAX">
            <xsl:apply-templates select="$ent/*[local-name() = 'EnterpriseName']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'CreditCode']" mode="copy"/>
            <xsl:apply-templates select="$app/*[local-name() = 'TaxRegistration']" mode="copy"/>
          </TaxReview>
        </xsl:when>
        <xsl:when test="$agency = 'SAFE'">
          <SafeReview agency="SAFE">
            <xsl:apply-templates select="$ent/*[local-name() = 'EnterpriseName']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'CreditCode']" mode="copy"/>
            <xsl:apply-templates select="$app/*[local-name() = 'BankAccount']" mode="copy"/>
            <xsl:apply-templates select="$app/*[local-name() = 'FxAccount']" mode="copy"/>
          </SafeReview>
        </xsl:when>
        <xsl:when test="$agency = 'COMMERCE'">
          <CommerceReview agency="COMMERCE">
            <xsl:apply-templates select="$app/*[local-name() = 'ForeignTradeRegistration']" mode="copy"/>
            <xsl:apply-templates select="$app/*[local-name() = 'Licences']" mode="copy"/>
          </CommerceReview>
        </xsl:when>
        <xsl:when test="$agency = 'MARKET'">
          <MarketReview agency="MARKET">
            <xsl:apply-templates select="$ent/*[local-name() = 'EnterpriseName']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'CreditCode']" mode="copy"/>
            <xsl:apply-templates select="$ent/*[local-name() = 'LegalRepresentative']" mode="copy"/>
            <xsl:apply-templates select="$app/*[local-name() = 'BusinessScope']" mode="copy"/>
          </MarketReview>
        </xsl:when>
        <xsl:when test="$agency = 'CIQ'">
          <CiqReview agency="CIQ">
            <xsl:apply-templates select="$app/*[local-name() = 'QuarantineRegistration']" mode="copy"/>
          </CiqReview>
        </xsl:when>
      </xsl:choose>
    </AgencyReviewRequest>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <xsl:template name="param-or">
    <xsl:param name="param"/>
    <xsl:param name="default"/>
    <xsl:choose>
      <xsl:when test="string($param) != ''"><xsl:value-of select="$param"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$default"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- Copy into the review namespace, by local name, without attributes or the
       source's namespace declarations. -->
  <xsl:template match="*" mode="copy">
    <xsl:element name="{local-name()}" namespace="{$ns}">
      <xsl:apply-templates select="*|text()" mode="copy"/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="text()" mode="copy">
    <xsl:copy/>
  </xsl:template>

</xsl:stylesheet>
