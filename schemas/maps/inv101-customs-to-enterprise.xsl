<?xml version="1.0" encoding="UTF-8"?>
<!--
  INV101 bonded inventory list: customs (HDE) dialect -> enterprise dialect.
  The reverse of inv101-enterprise-to-customs.xsl.

  In:  Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {INV101/{BondInvtBsc, BondInvtDt+, sysId?, operCusRegCode?}, DelcareFlag?}}}
       (schemas/customs/INV101.xsd; also read in the xmldsig namespace)
  Out: Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {InvtMessage/{SysId, OperCusRegCode, InvtHeadType, InvtListType+}, DelcareFlag}}}
       (schemas/enterprise/INV101.xsd)

  - The hub does not sign for enterprises: the output Signature carries Object
    only (no SignedInfo, SignatureValue, KeyInfo; optional in envelope.xsd).
    EnvelopInfo and PocketInfo are copied unchanged (without namespace).
  - BondInvtBsc -> InvtHeadType, BondInvtDt -> InvtListType; field names: first
    letter upper-cased (etpsInnerInvtNo -> EtpsInnerInvtNo).
  - INV101/sysId -> InvtMessage/SysId, INV101/operCusRegCode -> InvtMessage/OperCusRegCode.
  - Children are read by local name in any order; the output follows the field
    order of the enterprise XSD sequences (the lists below). Empty fields stay
    empty elements.
  - Nothing is invented: SysId, OperCusRegCode and DelcareFlag are required in
    the enterprise dialect but optional in the customs one; a customs document
    without them maps to an enterprise document that fails validation.
  - A field the map does not know stops the transformation (xsl:message
    terminate="yes") instead of being dropped silently.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>

  <!-- Known fields (customs names), space-delimited, in the order of the enterprise
       sequences: any child not in the list stops the map, and the children are
       sorted by their offset in it. -->
  <xsl:variable name="head-fields"
      select="' seqNo bondInvtNo chgTmsCnt putrecNo etpsInnerInvtNo bizopEtpsSccd bizopEtpsno bizopEtpsNm rvsngdEtpsSccd rcvgdEtpsno rcvgdEtpsNm dclEtpsSccd dclEtpsno dclEtpsNm inputCode inputCreditCode inputName inputTime invtDclTime entryDclTime entryNo corrEntryDclEtpsSccd corrEntryDclEtpsNo corrEntryDclEtpsNm rltInvtNo rltPutrecNo rltEntryNo rltEntryBizopEtpsSccd rltEntryBizopEtpsno rltEntryBizopEtpsNm rltEntryRvsngdEtpsSccd rltEntryRcvgdEtpsno rltEntryRcvgdEtpsNm rltEntryDclEtpsSccd rltEntryDclEtpsno rltEntryDclEtpsNm impexpPortcd dclPlcCuscd impexpMarkcd mtpckEndprdMarkcd supvModecd trspModecd applyNo listType dclcusFlag dclcusTypecd prevdTime formalVrfdedTime invtIochkptStucd vrfdedMarkcd icCardNo listStat decType rmk stshipTrsarvNatcd invtType entryStucd passportUsedTypeCd addTime genDecFlag needEntryModified levyBlAmt bondInvtTypecd '"/>
  <xsl:variable name="list-fields"
      select="' seqNo gdsSeqno putrecSeqno gdsMtno gdecd gdsNm gdsSpcfModelDesc dclUnitcd lawfUnitcd secdLawfUnitcd natcd dclUprcAmt dclTotalAmt usdStatTotalAmt dclCurrcd lawfQty secdLawfQty wtSfVal fstSfVal secdSfVal dclQty grossWt netWt useCd lvyrlfModecd ucnsVerno entryGdsSeqno applyTbSeqno clyMarkcd rmk addTime destinationNatcd modfMarkcd '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:if test="not(*[local-name() = 'Package']/*[local-name() = 'DataInfo']/*[local-name() = 'BussinessData']/*[local-name() = 'INV101'])">
      <xsl:message terminate="yes">not a customs INV101: expected Package/DataInfo/BussinessData/INV101</xsl:message>
    </xsl:if>
    <xsl:apply-templates select="*[local-name() = 'Package']"/>
  </xsl:template>

  <xsl:template match="*[local-name() = 'Package']">
    <xsl:variable name="data" select="*[local-name() = 'DataInfo']"/>
    <xsl:variable name="bd" select="$data/*[local-name() = 'BussinessData']"/>
    <Signature>
      <Object>
        <Package>
          <xsl:apply-templates select="*[local-name() = 'EnvelopInfo']" mode="copy"/>
          <DataInfo>
            <xsl:apply-templates select="$data/*[local-name() = 'PocketInfo']" mode="copy"/>
            <BussinessData>
              <xsl:apply-templates select="$bd/*[local-name() = 'INV101']"/>
              <xsl:apply-templates select="$bd/*[local-name() = 'DelcareFlag']" mode="copy"/>
            </BussinessData>
          </DataInfo>
        </Package>
      </Object>
    </Signature>
  </xsl:template>

  <xsl:template match="*[local-name() = 'INV101']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="' BondInvtBsc BondInvtDt sysId operCusRegCode '"/>
    </xsl:call-template>
    <InvtMessage>
      <xsl:for-each select="*[local-name() = 'sysId']">
        <SysId><xsl:value-of select="."/></SysId>
      </xsl:for-each>
      <xsl:for-each select="*[local-name() = 'operCusRegCode']">
        <OperCusRegCode><xsl:value-of select="."/></OperCusRegCode>
      </xsl:for-each>
      <xsl:apply-templates select="*[local-name() = 'BondInvtBsc']"/>
      <xsl:apply-templates select="*[local-name() = 'BondInvtDt']"/>
    </InvtMessage>
  </xsl:template>

  <!-- ===== head and items ===== -->

  <xsl:template match="*[local-name() = 'BondInvtBsc']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$head-fields"/>
    </xsl:call-template>
    <InvtHeadType>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($head-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </InvtHeadType>
  </xsl:template>

  <xsl:template match="*[local-name() = 'BondInvtDt']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$list-fields"/>
    </xsl:call-template>
    <InvtListType>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($list-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </InvtListType>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <xsl:template match="*" mode="field">
    <xsl:element name="{concat(translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2))}">
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <xsl:template name="refuse-unknown">
    <xsl:param name="known"/>
    <xsl:for-each select="*[not(contains($known, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('inv101-customs-to-enterprise: unmapped field ', local-name(..), '/', local-name())"/>
      </xsl:message>
    </xsl:for-each>
  </xsl:template>

  <!-- Copy into no namespace, without the source's namespace declarations. -->
  <xsl:template match="*" mode="copy">
    <xsl:element name="{local-name()}">
      <xsl:apply-templates select="@*|node()" mode="copy"/>
    </xsl:element>
  </xsl:template>

  <xsl:template match="@*|text()" mode="copy">
    <xsl:copy/>
  </xsl:template>

</xsl:stylesheet>
