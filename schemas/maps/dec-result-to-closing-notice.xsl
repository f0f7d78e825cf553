<?xml version="1.0" encoding="UTF-8"?>
<!--
  H2010 DEC_RESULT (bare root, no namespace) + the linked zone inventory list number
  -> ZONE901 ClosingNotice for the zone system (schemas/zone/ClosingNotice.xsd,
  urn:customs-hub:zone:1): "automatic closing".

  In:  DEC_RESULT/{CUS_CIQ_NO, ENTRY_ID, NOTICE_DATE, CHANNEL, NOTE, CUSTOM_MASTER,
       I_E_DATE, D_DATE}, children in any order, read by local name. (The older
       DEC_DATA/{DEC_RESULT, RESULT_INFO} form is not handled.)
  Params:
    bondInvtNo       REQUIRED. The QD... list the hub's journal links to the
                     declaration; DEC_RESULT does not carry it. Empty stops the map.
    closingChannels  Space-separated CHANNEL values that clear (default "7"): Action
                     CLOSE for these, HOLD otherwise. The code list is configuration.
    messageId        default "ZONE901-" + bondInvtNo + "-" + digits of NOTICE_DATE
    senderId         default "CUSHUB" (the hub's node id: pass it)
    receiverId       default "ZONE" + CUSTOM_MASTER (ZONE0801), the zone system
    sentAt           default NOTICE_DATE (XSLT 1.0 has no clock: pass it)

  Every DEC_RESULT value is kept, unchanged except NOTICE_DATE, whose space (if an
  implementation writes "yyyy-MM-dd HH:mm:ss") becomes the "T" of xs:dateTime.
  An unknown child of DEC_RESULT stops the map rather than being dropped.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns="urn:customs-hub:zone:1">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:param name="bondInvtNo" select="''"/>
  <xsl:param name="closingChannels" select="'7'"/>
  <xsl:param name="messageId" select="''"/>
  <xsl:param name="senderId" select="''"/>
  <xsl:param name="receiverId" select="''"/>
  <xsl:param name="sentAt" select="''"/>

  <xsl:variable name="known" select="' CUS_CIQ_NO ENTRY_ID NOTICE_DATE CHANNEL NOTE CUSTOM_MASTER I_E_DATE D_DATE '"/>
  <xsl:variable name="dec" select="/*[local-name() = 'DEC_RESULT']"/>
  <xsl:variable name="entryId" select="normalize-space($dec/*[local-name() = 'ENTRY_ID'])"/>
  <xsl:variable name="channel" select="normalize-space($dec/*[local-name() = 'CHANNEL'])"/>
  <xsl:variable name="master" select="normalize-space($dec/*[local-name() = 'CUSTOM_MASTER'])"/>
  <xsl:variable name="noticeDate" select="translate(normalize-space($dec/*[local-name() = 'NOTICE_DATE']), ' ', 'T')"/>
  <xsl:variable name="invt" select="normalize-space($bondInvtNo)"/>
  <xsl:variable name="closes"
      select="$channel != '' and contains(concat(' ', normalize-space($closingChannels), ' '), concat(' ', $channel, ' '))"/>

  <xsl:template match="/">
    <xsl:if test="not($dec)">
      <xsl:message terminate="yes">dec-result-to-closing-notice: not a DEC_RESULT</xsl:message>
    </xsl:if>
    <xsl:if test="$invt = ''">
      <xsl:message terminate="yes">dec-result-to-closing-notice: parameter bondInvtNo (the linked inventory list) is required</xsl:message>
    </xsl:if>
    <xsl:for-each select="$dec/*[not(contains($known, concat(' ', local-name(), ' ')))]">
      <xsl:message terminate="yes">
        <xsl:value-of select="concat('dec-result-to-closing-notice: unmapped field DEC_RESULT/', local-name())"/>
      </xsl:message>
    </xsl:for-each>

    <ClosingNotice>
      <Header>
        <MessageId>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$messageId"/>
            <xsl:with-param name="default" select="concat('ZONE901-', $invt, '-', translate($noticeDate, '-T:', ''))"/>
          </xsl:call-template>
        </MessageId>
        <SenderId>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$senderId"/>
            <xsl:with-param name="default" select="'CUSHUB'"/>
          </xsl:call-template>
        </SenderId>
        <ReceiverId>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$receiverId"/>
            <xsl:with-param name="default" select="concat('ZONE', $master)"/>
          </xsl:call-template>
        </ReceiverId>
        <SentAt>
          <xsl:call-template name="param-or">
            <xsl:with-param name="param" select="$sentAt"/>
            <xsl:with-param name="default" select="$noticeDate"/>
          </xsl:call-template>
        </SentAt>
      </Header>
      <EntryId><xsl:value-of select="$entryId"/></EntryId>
      <BondInvtNo><xsl:value-of select="$invt"/></BondInvtNo>
      <CusCiqNo><xsl:value-of select="normalize-space($dec/*[local-name() = 'CUS_CIQ_NO'])"/></CusCiqNo>
      <Channel><xsl:value-of select="$channel"/></Channel>
      <NoticeDate><xsl:value-of select="$noticeDate"/></NoticeDate>
      <CustomMaster><xsl:value-of select="$master"/></CustomMaster>
      <IEDate><xsl:value-of select="normalize-space($dec/*[local-name() = 'I_E_DATE'])"/></IEDate>
      <DDate><xsl:value-of select="normalize-space($dec/*[local-name() = 'D_DATE'])"/></DDate>
      <Note><xsl:value-of select="$dec/*[local-name() = 'NOTE']"/></Note>
      <ClosingInstruction>
        <xsl:choose>
          <xsl:when test="$closes">
            <Action>CLOSE</Action>
            <Text><xsl:value-of select="concat('报关单 ', $entryId, ' 回执通道 ', $channel, ' 为结关通道：关联核注清单 ', $invt, ' 自动结关')"/></Text>
          </xsl:when>
          <xsl:otherwise>
            <Action>HOLD</Action>
            <Text><xsl:value-of select="concat('报关单 ', $entryId, ' 回执通道 ', $channel, ' 不在结关通道 (', normalize-space($closingChannels), ') 之中：核注清单 ', $invt, ' 保持未结关')"/></Text>
          </xsl:otherwise>
        </xsl:choose>
      </ClosingInstruction>
    </ClosingNotice>
  </xsl:template>

  <xsl:template name="param-or">
    <xsl:param name="param"/>
    <xsl:param name="default"/>
    <xsl:choose>
      <xsl:when test="string($param) != ''"><xsl:value-of select="$param"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$default"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

</xsl:stylesheet>
