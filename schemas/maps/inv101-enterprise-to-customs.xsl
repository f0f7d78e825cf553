<?xml version="1.0" encoding="UTF-8"?>
<!--
  INV101 bonded inventory list: enterprise dialect -> customs (HDE) dialect.

  In:  Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {InvtMessage/{SysId, OperCusRegCode, InvtHeadType, InvtListType+} (any order), DelcareFlag}}}
       (schemas/enterprise/INV101.xsd)
  Out: Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {INV101/{BondInvtBsc, BondInvtDt+, sysId, operCusRegCode}, DelcareFlag}}}
       (schemas/customs/INV101.xsd)

  - The Signature wrapper is dropped: the customs dialect has none. EnvelopInfo and
    PocketInfo are copied unchanged (minus stray namespace declarations).
  - InvtHeadType -> BondInvtBsc, InvtListType -> BondInvtDt; field names: first
    letter lower-cased (EtpsInnerInvtNo -> etpsInnerInvtNo).
  - InvtMessage/SysId -> INV101/sysId, InvtMessage/OperCusRegCode -> INV101/operCusRegCode.
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

  <!-- Known fields, space-delimited, in output order: any child not in the list
       stops the map, and the children are sorted by their offset in it. -->
  <xsl:variable name="head-fields"
      select="' SeqNo BondInvtNo ChgTmsCnt PutrecNo EtpsInnerInvtNo BizopEtpsSccd BizopEtpsno BizopEtpsNm RvsngdEtpsSccd RcvgdEtpsno RcvgdEtpsNm DclEtpsSccd DclEtpsno DclEtpsNm InputCode InputCreditCode InputName InputTime InvtDclTime EntryDclTime EntryNo CorrEntryDclEtpsSccd CorrEntryDclEtpsNo CorrEntryDclEtpsNm RltInvtNo RltPutrecNo RltEntryNo RltEntryBizopEtpsSccd RltEntryBizopEtpsno RltEntryBizopEtpsNm RltEntryRvsngdEtpsSccd RltEntryRcvgdEtpsno RltEntryRcvgdEtpsNm RltEntryDclEtpsSccd RltEntryDclEtpsno RltEntryDclEtpsNm ImpexpPortcd DclPlcCuscd ImpexpMarkcd MtpckEndprdMarkcd SupvModecd TrspModecd ApplyNo ListType DclcusFlag DclcusTypecd PrevdTime FormalVrfdedTime InvtIochkptStucd VrfdedMarkcd IcCardNo ListStat DecType Rmk StshipTrsarvNatcd InvtType EntryStucd PassportUsedTypeCd AddTime GenDecFlag NeedEntryModified LevyBlAmt BondInvtTypecd '"/>
  <xsl:variable name="list-fields"
      select="' SeqNo GdsSeqno PutrecSeqno GdsMtno Gdecd GdsNm GdsSpcfModelDesc DclUnitcd LawfUnitcd SecdLawfUnitcd Natcd DclUprcAmt DclTotalAmt UsdStatTotalAmt DclCurrcd LawfQty SecdLawfQty WtSfVal FstSfVal SecdSfVal DclQty GrossWt NetWt UseCd LvyrlfModecd UcnsVerno EntryGdsSeqno ApplyTbSeqno ClyMarkcd Rmk AddTime DestinationNatcd ModfMarkcd '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:if test="not(*[local-name() = 'Signature']/*[local-name() = 'Object']/*[local-name() = 'Package']/*[local-name() = 'DataInfo']/*[local-name() = 'BussinessData']/*[local-name() = 'InvtMessage'])">
      <xsl:message terminate="yes">not an enterprise INV101: expected Signature/Object/Package/DataInfo/BussinessData/InvtMessage</xsl:message>
    </xsl:if>
    <xsl:apply-templates select="*[local-name() = 'Signature']/*[local-name() = 'Object']/*[local-name() = 'Package']"/>
  </xsl:template>

  <xsl:template match="*[local-name() = 'Package']">
    <xsl:variable name="data" select="*[local-name() = 'DataInfo']"/>
    <xsl:variable name="bd" select="$data/*[local-name() = 'BussinessData']"/>
    <Package>
      <xsl:apply-templates select="*[local-name() = 'EnvelopInfo']" mode="copy"/>
      <DataInfo>
        <xsl:apply-templates select="$data/*[local-name() = 'PocketInfo']" mode="copy"/>
        <BussinessData>
          <xsl:apply-templates select="$bd/*[local-name() = 'InvtMessage']"/>
          <xsl:apply-templates select="$bd/*[local-name() = 'DelcareFlag']" mode="copy"/>
        </BussinessData>
      </DataInfo>
    </Package>
  </xsl:template>

  <xsl:template match="*[local-name() = 'InvtMessage']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="' SysId OperCusRegCode InvtHeadType InvtListType '"/>
    </xsl:call-template>
    <INV101>
      <xsl:apply-templates select="*[local-name() = 'InvtHeadType']"/>
      <xsl:apply-templates select="*[local-name() = 'InvtListType']"/>
      <xsl:for-each select="*[local-name() = 'SysId']">
        <sysId><xsl:value-of select="."/></sysId>
      </xsl:for-each>
      <xsl:for-each select="*[local-name() = 'OperCusRegCode']">
        <operCusRegCode><xsl:value-of select="."/></operCusRegCode>
      </xsl:for-each>
    </INV101>
  </xsl:template>

  <!-- ===== head and items ===== -->

  <xsl:template match="*[local-name() = 'InvtHeadType']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$head-fields"/>
    </xsl:call-template>
    <BondInvtBsc>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($head-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </BondInvtBsc>
  </xsl:template>

  <xsl:template match="*[local-name() = 'InvtListType']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$list-fields"/>
    </xsl:call-template>
    <!-- The enterprise XSD fixes the order of a line's fields (and BondInvtDt takes any order):
         no sort here, which is most of the cost on a list of 350,000 lines. -->
    <BondInvtDt>
      <xsl:apply-templates select="*" mode="field"/>
    </BondInvtDt>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <xsl:template match="*" mode="field">
    <xsl:element name="{concat(translate(substring(local-name(), 1, 1), $upper, $lower), substring(local-name(), 2))}">
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <xsl:template name="refuse-unknown">
    <xsl:param name="known"/>
    <xsl:for-each select="*[not(contains($known, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('inv101-enterprise-to-customs: unmapped field ', local-name(..), '/', local-name())"/>
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
