<?xml version="1.0" encoding="UTF-8"?>
<!--
  SAS111 warehouse in/out form: enterprise dialect -> customs (HDE) dialect,
  which the special-zone system reads.

  In:  Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {Sas111Message/{OperCusRegCode?, SasStockHead, SasStockList*} (any order),
          DelcareFlag}}}                                    (schemas/enterprise/SAS111.xsd)
  Out: Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {SAS111/{SasStockBsc, SasStockDt*}, DelcareFlag}}} (schemas/customs/SAS111.xsd)

  - The Signature wrapper (SignedInfo, SignatureValue, KeyInfo) is dropped: the
    customs dialect has none. EnvelopInfo and PocketInfo are copied unchanged
    (minus stray namespace declarations).
  - Blocks: SasStockHead -> SasStockBsc, SasStockList -> SasStockDt. Fields: first
    letter lower-cased (SasStockNo -> sasStockNo).
  - Sas111Message/OperCusRegCode -> SasStockBsc/operCusRegCode (hub extension, so
    that no value is lost; maps/sas111-customs-to-enterprise.xsl moves it back).
  - Everything is read by local-name(), so order and namespace of the input do
    not matter; lines keep their relative order. Empty fields stay empty elements.
  - A block or field the map does not know stops the transformation
    (xsl:message terminate="yes") instead of being dropped silently.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>

  <!-- Known fields, space-delimited, in output order: any child not in the list
       stops the map, and the children are sorted by their offset in it. -->
  <xsl:variable name="head-fields"
      select="' SasStockNo SasStockPreentNo DclTypecd SasDclNo MasterCuscd StockTypecd RltBondInvtNo BusinessTypecd CentralizedDclTypecd PassportUsedTypecd Stucd EmapvMarkcd EtpsPreentNo Rmk '"/>
  <xsl:variable name="list-fields"
      select="' SasStockNo SasStockSeqno SasDclSeqno OriactGdsSeqno GdsMtno Gdecd GdsNm DclUnitcd DclQty DclUprcAmt DclTotalAmt DclCurrcd Natcd Rmk '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:variable name="pkg" select="*[local-name()='Signature']/*[local-name()='Object']/*[local-name()='Package']"/>
    <xsl:if test="not($pkg/*[local-name()='DataInfo']/*[local-name()='BussinessData']/*[local-name()='Sas111Message'])">
      <xsl:message terminate="yes">not an enterprise SAS111: expected Signature/Object/Package/DataInfo/BussinessData/Sas111Message</xsl:message>
    </xsl:if>
    <xsl:apply-templates select="$pkg"/>
  </xsl:template>

  <xsl:template match="*[local-name()='Package']">
    <xsl:variable name="data" select="*[local-name()='DataInfo']"/>
    <xsl:variable name="bd" select="$data/*[local-name()='BussinessData']"/>
    <Package>
      <xsl:apply-templates select="*[local-name()='EnvelopInfo']" mode="copy"/>
      <DataInfo>
        <xsl:apply-templates select="$data/*[local-name()='PocketInfo']" mode="copy"/>
        <BussinessData>
          <xsl:apply-templates select="$bd/*[local-name()='Sas111Message']" mode="message"/>
          <xsl:apply-templates select="$bd/*[local-name()='DelcareFlag']" mode="copy"/>
        </BussinessData>
      </DataInfo>
    </Package>
  </xsl:template>

  <xsl:template match="*" mode="message">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="' OperCusRegCode SasStockHead SasStockList '"/>
    </xsl:call-template>
    <SAS111>
      <xsl:for-each select="*[local-name()='SasStockHead']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="$head-fields"/>
        </xsl:call-template>
        <SasStockBsc>
          <xsl:for-each select="*">
            <xsl:sort select="string-length(substring-before($head-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
          <xsl:for-each select="../*[local-name()='OperCusRegCode']">
            <operCusRegCode><xsl:value-of select="."/></operCusRegCode>
          </xsl:for-each>
        </SasStockBsc>
      </xsl:for-each>
      <xsl:for-each select="*[local-name()='SasStockList']">
        <xsl:call-template name="refuse-unknown">
          <xsl:with-param name="known" select="$list-fields"/>
        </xsl:call-template>
        <SasStockDt>
          <xsl:for-each select="*">
            <xsl:sort select="string-length(substring-before($list-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
            <xsl:apply-templates select="." mode="field"/>
          </xsl:for-each>
        </SasStockDt>
      </xsl:for-each>
    </SAS111>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <!-- PascalCase -> camelCase: lower-case the first letter. -->
  <xsl:template match="*" mode="field">
    <xsl:element name="{concat(translate(substring(local-name(), 1, 1), $upper, $lower), substring(local-name(), 2))}">
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <xsl:template name="refuse-unknown">
    <xsl:param name="known"/>
    <xsl:for-each select="*[not(contains($known, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('sas111-enterprise-to-customs: unmapped element ', local-name(..), '/', local-name())"/>
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
