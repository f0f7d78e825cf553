<?xml version="1.0" encoding="UTF-8"?>
<!--
  SAS121 pass form: enterprise dialect -> customs (HDE) dialect, which the zone system reads.

  In:  Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {PassPortMessage/{OperCusRegCode, PassportHead, PassportList*, PassportAcmp*}, DelcareFlag}}}
       (schemas/enterprise/SAS121.xsd)
  Out: Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {SAS121/{SasPassportBsc, SasPassportDt*, SasPassportRlt*}, DelcareFlag}}}
       (schemas/zone/SAS121.xsd)

  - The Signature wrapper is dropped: the customs dialect has none. EnvelopInfo and
    PocketInfo are copied unchanged (minus stray namespace declarations).
  - Field names: first letter lower-cased (PassportTypecd -> passportTypecd,
    Col1 -> col1); PassportAcmp/PassPortNo -> SasPassportRlt/passportNo.
  - PassPortMessage/OperCusRegCode -> SasPassportBsc/operCusRegCode (hub extension,
    so that no value is lost).
  - Children are read by name, so their order in the input does not matter;
    the output follows the field order of the lists below. Empty fields stay
    empty elements.
  - A field the map does not know stops the transformation (xsl:message
    terminate="yes") instead of being dropped silently.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>

  <!-- Known fields, space-delimited, in output order. One list serves twice: any
       child not in it stops the map, and the children are sorted by their offset
       in it (a single pass; a recursive walk over the names ran at half the speed). -->
  <xsl:variable name="head-fields"
      select="' SeqNo PassportNo PassportTypecd MasterCuscd DclTypecd IoTypecd BindTypecd RltTbTypecd RltNo AreainOriactNo AreainEtpsno AreainEtpsNm AreainEtpsSccd VehicleNo VehicleIcNo ContainerNo VehicleWt VehicleFrameNo VehicleFrameWt ContainerType ContainerWt TotalWt TotalGrossWt TotalNetWt DclErConc DclTime DclEtpsno DclEtpsNm DclEtpsSccd InputCode InputSccd InputName EtpsPreentNo Rmk Col1 Col2 Col3 Col4 '"/>
  <xsl:variable name="list-fields"
      select="' SeqNo PassportNo PassportSeqNo RltGdsSeqno GdsMtno Gdecd GdsNm DclUnitcd DclQty GrossWt NetWt Rmk Col1 Col2 Col3 Col4 '"/>
  <xsl:variable name="acmp-fields"
      select="' SeqNo PassPortNo RtlBillTypecd RtlBillNo '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:if test="not(Signature/Object/Package/DataInfo/BussinessData/PassPortMessage)">
      <xsl:message terminate="yes">not an enterprise SAS121: expected Signature/Object/Package/DataInfo/BussinessData/PassPortMessage</xsl:message>
    </xsl:if>
    <xsl:apply-templates select="Signature/Object/Package"/>
  </xsl:template>

  <xsl:template match="Package">
    <Package>
      <xsl:apply-templates select="EnvelopInfo" mode="copy"/>
      <DataInfo>
        <xsl:apply-templates select="DataInfo/PocketInfo" mode="copy"/>
        <BussinessData>
          <xsl:apply-templates select="DataInfo/BussinessData/PassPortMessage"/>
          <xsl:apply-templates select="DataInfo/BussinessData/DelcareFlag" mode="copy"/>
        </BussinessData>
      </DataInfo>
    </Package>
  </xsl:template>

  <xsl:template match="PassPortMessage">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="' OperCusRegCode PassportHead PassportList PassportAcmp '"/>
    </xsl:call-template>
    <SAS121>
      <xsl:apply-templates select="PassportHead"/>
      <xsl:apply-templates select="PassportList"/>
      <xsl:apply-templates select="PassportAcmp"/>
    </SAS121>
  </xsl:template>

  <!-- ===== the three blocks ===== -->

  <xsl:template match="PassportHead">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$head-fields"/>
    </xsl:call-template>
    <SasPassportBsc>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($head-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
      <xsl:for-each select="../OperCusRegCode">
        <operCusRegCode><xsl:value-of select="."/></operCusRegCode>
      </xsl:for-each>
    </SasPassportBsc>
  </xsl:template>

  <xsl:template match="PassportList">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$list-fields"/>
    </xsl:call-template>
    <SasPassportDt>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($list-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </SasPassportDt>
  </xsl:template>

  <xsl:template match="PassportAcmp">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$acmp-fields"/>
    </xsl:call-template>
    <SasPassportRlt>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($acmp-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </SasPassportRlt>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <xsl:template match="*" mode="field">
    <xsl:element name="{concat(translate(substring(local-name(), 1, 1), $upper, $lower), substring(local-name(), 2))}">
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="PassportAcmp/PassPortNo" mode="field">
    <passportNo><xsl:value-of select="."/></passportNo>
  </xsl:template>

  <xsl:template name="refuse-unknown">
    <xsl:param name="known"/>
    <xsl:for-each select="*[not(contains($known, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('sas121-enterprise-to-customs: unmapped field ', local-name(..), '/', local-name())"/>
      </xsl:message>
    </xsl:for-each>
  </xsl:template>

  <!-- Copy without carrying the source's namespace declarations (xsi etc.). -->
  <xsl:template match="*" mode="copy">
    <xsl:element name="{local-name()}">
      <xsl:apply-templates select="@*|node()" mode="copy"/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="@*|text()" mode="copy">
    <xsl:copy/>
  </xsl:template>

</xsl:stylesheet>
