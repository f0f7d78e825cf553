<?xml version="1.0" encoding="UTF-8"?>
<!--
  SAS111 warehouse in/out form: customs (HDE) dialect -> enterprise dialect.

  In:  Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {SAS111/{SasStockBsc, SasStockDt*}, DelcareFlag?}}} (schemas/customs/SAS111.xsd)
  Out: Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {Sas111Message/{OperCusRegCode?, SasStockHead, SasStockList*}, DelcareFlag}}}
                                                             (schemas/enterprise/SAS111.xsd)

  - The output carries Signature/Object/Package only: no SignedInfo,
    SignatureValue or KeyInfo (the hub does not sign for enterprises).
    EnvelopInfo and PocketInfo are copied unchanged.
  - Blocks: SasStockBsc -> SasStockHead, SasStockDt -> SasStockList. Fields: first
    letter upper-cased (sasStockNo -> SasStockNo), sorted into the enterprise
    sequence order (the customs fields come in any order).
  - SasStockBsc/operCusRegCode (hub extension) -> Sas111Message/OperCusRegCode.
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
      select="' SasStockNo SasStockPreentNo DclTypecd SasDclNo MasterCuscd StockTypecd RltBondInvtNo BusinessTypecd CentralizedDclTypecd PassportUsedTypecd Stucd EmapvMarkcd EtpsPreentNo Rmk '"/>
  <xsl:variable name="list-fields"
      select="' SasStockNo SasStockSeqno SasDclSeqno OriactGdsSeqno GdsMtno Gdecd GdsNm DclUnitcd DclQty DclUprcAmt DclTotalAmt DclCurrcd Natcd Rmk '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:variable name="pkg" select="*[local-name()='Package']"/>
    <xsl:if test="not($pkg/*[local-name()='DataInfo']/*[local-name()='BussinessData']/*[local-name()='SAS111'])">
      <xsl:message terminate="yes">not a customs SAS111: expected Package/DataInfo/BussinessData/SAS111</xsl:message>
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
              <xsl:apply-templates select="$bd/*[local-name()='SAS111']" mode="message"/>
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
    <xsl:for-each select="*[not(contains(' SasStockBsc SasStockDt ', concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('sas111-customs-to-enterprise: unmapped element SAS111/', local-name())"/>
      </xsl:message>
    </xsl:for-each>
    <Sas111Message>
      <xsl:for-each select="*[local-name()='SasStockBsc']/*[local-name()='operCusRegCode']">
        <OperCusRegCode><xsl:value-of select="."/></OperCusRegCode>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasStockBsc']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="concat($head-fields, 'OperCusRegCode ')"/>
        </xsl:call-template>
        <SasStockHead>
          <xsl:for-each select="*[local-name()!='operCusRegCode']">
            <xsl:sort select="string-length(substring-before($head-fields, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasStockHead>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasStockDt']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="$list-fields"/>
        </xsl:call-template>
        <SasStockList>
          <xsl:for-each select="*">
            <xsl:sort select="string-length(substring-before($list-fields, concat(' ', translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasStockList>
      </xsl:for-each>
    </Sas111Message>
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
        <xsl:value-of select="concat('sas111-customs-to-enterprise: unmapped element ', local-name(..), '/', local-name())"/>
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
