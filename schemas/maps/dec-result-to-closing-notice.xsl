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

  Every DEC_RESULT value the notice has a place for is kept, unchanged except
  NOTICE_DATE, which becomes an xs:dateTime: "yyyy-MM-dd HH:mm:ss" gets its "T",
  yyyyMMddHHmmss and yyyyMMdd are spelled out. DEC_RESULT is read tolerantly
  (catalog policy): a field the notice has no place for is left out here and
  reported as schema drift when the result arrives.
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

  <xsl:variable name="dec" select="/*[local-name() = 'DEC_RESULT']"/>
  <xsl:variable name="entryId" select="normalize-space($dec/*[local-name() = 'ENTRY_ID'])"/>
  <xsl:variable name="channel" select="normalize-space($dec/*[local-name() = 'CHANNEL'])"/>
  <xsl:variable name="master" select="normalize-space($dec/*[local-name() = 'CUSTOM_MASTER'])"/>
  <xsl:variable name="noticeText" select="normalize-space($dec/*[local-name() = 'NOTICE_DATE'])"/>
  <xsl:variable name="noticeDate">
    <xsl:choose>
      <xsl:when test="contains($noticeText, '-')"><xsl:value-of select="translate($noticeText, ' ', 'T')"/></xsl:when>
      <xsl:when test="string-length($noticeText) &gt;= 14 and translate(substring($noticeText, 1, 14), '0123456789', '') = ''">
        <xsl:value-of select="concat(substring($noticeText, 1, 4), '-', substring($noticeText, 5, 2), '-', substring($noticeText, 7, 2),
                                     'T', substring($noticeText, 9, 2), ':', substring($noticeText, 11, 2), ':', substring($noticeText, 13, 2))"/>
      </xsl:when>
      <xsl:when test="string-length($noticeText) = 8 and translate($noticeText, '0123456789', '') = ''">
        <xsl:value-of select="concat(substring($noticeText, 1, 4), '-', substring($noticeText, 5, 2), '-', substring($noticeText, 7, 2), 'T00:00:00')"/>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$noticeText"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
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
