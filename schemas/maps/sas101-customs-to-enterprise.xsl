<?xml version="1.0" encoding="UTF-8"?>
<!--
  SAS101 zone business application: customs (HDE) dialect -> enterprise dialect.

  In:  Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {SAS101/{SasDclBsc, SasDclDt*, SasDclUcnsDt*, SasDclAcmpFormDt*}, DelcareFlag?}}}
                                                            (schemas/customs/SAS101.xsd)
  Out: Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {Sas101Message/{OperCusRegCode?, SasDclHead, SasDclList*, SasDclUcnsList*,
          SasDclAcmpForm*}, DelcareFlag}}}                  (schemas/enterprise/SAS101.xsd)

  - The output carries Signature/Object/Package only: no SignedInfo,
    SignatureValue or KeyInfo (the hub does not sign for enterprises).
    EnvelopInfo and PocketInfo are copied unchanged.
  - Blocks: SasDclBsc -> SasDclHead, SasDclDt -> SasDclList, SasDclUcnsDt ->
    SasDclUcnsList, SasDclAcmpFormDt -> SasDclAcmpForm. Fields: first letter
    upper-cased (sasDclNo -> SasDclNo, col1 -> Col1), sorted into the
    enterprise sequence order (the customs fields come in any order).
  - SasDclBsc/operCusRegCode (hub extension) -> Sas101Message/OperCusRegCode.
  - DelcareFlag is optional in the customs dialect and required in the
    enterprise one: when it is absent the map writes 0 (save as draft), the
    value that declares nothing.
  - Everything is read by local-name() (namespace-agnostic). A block or field the
    map does not know stops the transformation (xsl:message terminate="yes").
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>

  <!-- Enterprise field names, space-delimited, in output (xs:sequence) order. -->
  <xsl:variable name="head-fields"
      select="' SasDclNo ChgTmsCnt MasterCuscd SasDclPreentNo DclTypecd BusinessTypecd DirectionTypecd AreainOriactNo AreaoutOriactNo AreainEtpsno AreainEtpsNm AreainEtpsSccd AreaoutEtpsno AreaoutEtpsNm AreaoutEtpsSccd DpstLevyBlNo ValidTime ExhibitionPlace DclEr DclTime EmapvMarkcd DclTbStucd Rmk Col1 Col2 Col3 Col4 EtpsPreentNo '"/>
  <xsl:variable name="list-fields"
      select="' SasDclNo SasDclSeqno OriactGdsSeqno MtpckEndprdTypecd GdsMtno Gdecd GdsNm GdsSpcfModelDesc DclUnitcd LawfUnitcd DclQty DclUprcAmt DclTotalAmt DclCurrcd Natcd ModfMarkcd Rmk '"/>
  <xsl:variable name="ucns-fields"
      select="' SasDclNo UcnsSeqno EndprdSeqno EndprdGdsMtno MtpckSeqno MtpckGdsMtno NetUseupQty LossRate UcnsVerno Rmk '"/>
  <xsl:variable name="acmp-fields"
      select="' SasDclNo AcmpFormSeqno AcmpFormTypecd AcmpFormNo AcmpFormFileNm Rmk '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:variable name="pkg" select="*[local-name()='Package']"/>
    <xsl:if test="not($pkg/*[local-name()='DataInfo']/*[local-name()='BussinessData']/*[local-name()='SAS101'])">
      <xsl:message terminate="yes">not a customs SAS101: expected Package/DataInfo/BussinessData/SAS101</xsl:message>
    </xsl:if>
    <xsl:apply-templates select="$pkg"/>
  </xsl:template>

  <xsl:template match="*[local-name()='Package']">
    <xsl:variable name="data" select="*[local-name()='DataInfo']"/>
    <xsl:variable name="bd" select="$data/*[local-name()='BussinessData']"/>
    <Signature>
      <Object>
        <Package>
          <xsl:apply-templates select="*[local-name()='EnvelopInfo']" mode="copy"/>
          <DataInfo>
            <xsl:apply-templates select="$data/*[local-name()='PocketInfo']" mode="copy"/>
            <BussinessData>
              <xsl:apply-templates select="$bd/*[local-name()='SAS101']" mode="message"/>
              <xsl:choose>
                <xsl:when test="$bd/*[local-name()='DelcareFlag']">
                  <xsl:apply-templates select="$bd/*[local-name()='DelcareFlag']" mode="copy"/>
                </xsl:when>
                <xsl:otherwise><DelcareFlag>0</DelcareFlag></xsl:otherwise>
              </xsl:choose>
            </BussinessData>
          </DataInfo>
        </Package>
      </Object>
    </Signature>
  </xsl:template>

  <xsl:template match="*" mode="message">
    <xsl:for-each select="*[not(contains(' SasDclBsc SasDclDt SasDclUcnsDt SasDclAcmpFormDt ', concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('sas101-customs-to-enterprise: unmapped element SAS101/', local-name())"/>
      </xsl:message>
    </xsl:for-each>
    <Sas101Message>
      <xsl:for-each select="*[local-name()='SasDclBsc']/*[local-name()='operCusRegCode']">
        <OperCusRegCode><xsl:value-of select="."/></OperCusRegCode>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasDclBsc']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="concat($head-fields, 'OperCusRegCode ')"/>
        </xsl:call-template>
        <SasDclHead>
          <xsl:for-each select="*[local-name()!='operCusRegCode']">
            <xsl:sort select="string-length(substring-before($head-fields, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasDclHead>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasDclDt']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="$list-fields"/>
        </xsl:call-template>
        <SasDclList>
          <xsl:for-each select="*">
            <xsl:sort select="string-length(substring-before($list-fields, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasDclList>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasDclUcnsDt']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="$ucns-fields"/>
        </xsl:call-template>
        <SasDclUcnsList>
          <xsl:for-each select="*">
            <xsl:sort select="string-length(substring-before($ucns-fields, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasDclUcnsList>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasDclAcmpFormDt']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="$acmp-fields"/>
        </xsl:call-template>
        <SasDclAcmpForm>
          <xsl:for-each select="*">
            <xsl:sort select="string-length(substring-before($acmp-fields, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasDclAcmpForm>
      </xsl:for-each>
    </Sas101Message>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <!-- camelCase -> PascalCase: upper-case the first letter. -->
  <xsl:template match="*" mode="field">
    <xsl:element name="{concat(translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2))}">
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <!-- A field is known when it is camelCase (first letter not upper case) and its
       PascalCase form is in the list. -->
  <xsl:template name="refuse-unknown">
    <xsl:param name="known"/>
    <xsl:for-each select="*[contains($upper, substring(local-name(), 1, 1))
                            or not(contains($known, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('sas101-customs-to-enterprise: unmapped element ', local-name(..), '/', local-name())"/>
      </xsl:message>
    </xsl:for-each>
  </xsl:template>

  <!-- Copy without namespaces (and without the source's namespace declarations). -->
  <xsl:template match="*" mode="copy">
    <xsl:element name="{local-name()}">
      <xsl:apply-templates select="@*|node()" mode="copy"/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="@*" mode="copy">
    <xsl:attribute name="{local-name()}"><xsl:value-of select="."/></xsl:attribute>
  </xsl:template>

  <xsl:template match="text()" mode="copy">
    <xsl:copy/>
  </xsl:template>

</xsl:stylesheet>
