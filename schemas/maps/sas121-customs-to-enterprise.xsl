<?xml version="1.0" encoding="UTF-8"?>
<!--
  SAS121 pass form: customs (HDE) dialect -> enterprise dialect.
  The reverse of sas121-enterprise-to-customs.xsl.

  In:  Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {SAS121/{SasPassportBsc, SasPassportDt*, SasPassportRlt*}, DelcareFlag?}}}
       (schemas/customs/SAS121.xsd; also read in the xmldsig namespace)
  Out: Signature/Object/Package/{EnvelopInfo, DataInfo/{PocketInfo?, BussinessData/
         {PassPortMessage/{OperCusRegCode, PassportHead, PassportList*, PassportAcmp*}, DelcareFlag}}}
       (schemas/enterprise/SAS121.xsd)

  - The hub does not sign for enterprises: the output Signature carries Object
    only (no SignedInfo, SignatureValue, KeyInfo; optional in envelope.xsd).
    EnvelopInfo and PocketInfo are copied unchanged (without namespace).
  - Field names: first letter upper-cased (passportTypecd -> PassportTypecd,
    col1 -> Col1); SasPassportRlt/passportNo -> PassportAcmp/PassPortNo (sic).
  - SasPassportBsc/operCusRegCode (the hub extension the forward map writes)
    goes back to PassPortMessage/OperCusRegCode.
  - Children are read by local name in any order; the output follows the field
    order of the enterprise XSD sequences (the lists below). Empty fields stay
    empty elements.
  - Nothing is invented: what the enterprise dialect requires but the customs
    one leaves optional (OperCusRegCode, DelcareFlag, areainEtpsno, vehicleNo,
    dclEtpsno, ...) must be in the input, or the output fails validation.
  - A field the map does not know stops the transformation (xsl:message
    terminate="yes") instead of being dropped silently.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:variable name="upper" select="'ABCDEFGHIJKLMNOPQRSTUVWXYZ'"/>
  <xsl:variable name="lower" select="'abcdefghijklmnopqrstuvwxyz'"/>

  <!-- Known fields (customs names), space-delimited, in the order of the enterprise
       sequences. operCusRegCode is known but not written into the head. -->
  <xsl:variable name="head-fields"
      select="' seqNo passportNo passportTypecd masterCuscd dclTypecd ioTypecd bindTypecd rltTbTypecd rltNo areainOriactNo areainEtpsno areainEtpsNm areainEtpsSccd vehicleNo vehicleIcNo containerNo vehicleWt vehicleFrameNo vehicleFrameWt containerType containerWt totalWt totalGrossWt totalNetWt dclErConc dclTime dclEtpsno dclEtpsNm dclEtpsSccd inputCode inputSccd inputName etpsPreentNo rmk col1 col2 col3 col4 '"/>
  <xsl:variable name="list-fields"
      select="' seqNo passportNo passportSeqNo rltGdsSeqno gdsMtno gdecd gdsNm dclUnitcd dclQty grossWt netWt rmk col1 col2 col3 col4 '"/>
  <xsl:variable name="rlt-fields"
      select="' seqNo passportNo rtlBillTypecd rtlBillNo '"/>

  <!-- ===== document ===== -->

  <xsl:template match="/">
    <xsl:if test="not(*[local-name() = 'Package']/*[local-name() = 'DataInfo']/*[local-name() = 'BussinessData']/*[local-name() = 'SAS121'])">
      <xsl:message terminate="yes">not a customs SAS121: expected Package/DataInfo/BussinessData/SAS121</xsl:message>
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
              <xsl:apply-templates select="$bd/*[local-name() = 'SAS121']"/>
              <xsl:apply-templates select="$bd/*[local-name() = 'DelcareFlag']" mode="copy"/>
            </BussinessData>
          </DataInfo>
        </Package>
      </Object>
    </Signature>
  </xsl:template>

  <xsl:template match="*[local-name() = 'SAS121']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="' SasPassportBsc SasPassportDt SasPassportRlt '"/>
    </xsl:call-template>
    <PassPortMessage>
      <xsl:for-each select="*[local-name() = 'SasPassportBsc']/*[local-name() = 'operCusRegCode']">
        <OperCusRegCode><xsl:value-of select="."/></OperCusRegCode>
      </xsl:for-each>
      <xsl:apply-templates select="*[local-name() = 'SasPassportBsc']"/>
      <xsl:apply-templates select="*[local-name() = 'SasPassportDt']"/>
      <xsl:apply-templates select="*[local-name() = 'SasPassportRlt']"/>
    </PassPortMessage>
  </xsl:template>

  <!-- ===== the three blocks ===== -->

  <xsl:template match="*[local-name() = 'SasPassportBsc']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="concat($head-fields, 'operCusRegCode ')"/>
    </xsl:call-template>
    <PassportHead>
      <xsl:for-each select="*[local-name() != 'operCusRegCode']">
        <xsl:sort select="string-length(substring-before($head-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </PassportHead>
  </xsl:template>

  <xsl:template match="*[local-name() = 'SasPassportDt']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$list-fields"/>
    </xsl:call-template>
    <PassportList>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($list-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </PassportList>
  </xsl:template>

  <xsl:template match="*[local-name() = 'SasPassportRlt']">
    <xsl:call-template name="refuse-unknown">
      <xsl:with-param name="known" select="$rlt-fields"/>
    </xsl:call-template>
    <PassportAcmp>
      <xsl:for-each select="*">
        <xsl:sort select="string-length(substring-before($rlt-fields, concat(' ', local-name(), ' ')))" data-type="number"/>
        <xsl:apply-templates select="." mode="field"/>
      </xsl:for-each>
    </PassportAcmp>
  </xsl:template>

  <!-- ===== helpers ===== -->

  <xsl:template match="*" mode="field">
    <xsl:element name="{concat(translate(substring(local-name(), 1, 1), $lower, $upper), substring(local-name(), 2))}">
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <!-- sic: PassPortNo in PassportAcmp, PassportNo in head and list -->
  <xsl:template match="*[local-name() = 'SasPassportRlt']/*[local-name() = 'passportNo']" mode="field">
    <PassPortNo><xsl:value-of select="."/></PassPortNo>
  </xsl:template>

  <xsl:template name="refuse-unknown">
    <xsl:param name="known"/>
    <xsl:for-each select="*[not(contains($known, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('sas121-customs-to-enterprise: unmapped field ', local-name(..), '/', local-name())"/>
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
