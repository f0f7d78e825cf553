<?xml version="1.0" encoding="UTF-8"?>
<!--
  Joint review: the hub's Gathering (exchange/gathering.py, urn:customs-hub:gather:1) of an
  application and the agencies' verdicts -> REVIEW131 ReviewDecision (schemas/review/README.md).

  Decision: REJECTED if any agency rejected; APPROVED only if every agency answered APPROVED;
  INCOMPLETE otherwise (a NEEDS_INFO, or an agency that stayed silent). One AgencyResult per
  member, in the order of the gathering's members: the agency's verdict with its reasons,
  reviewer and time, or SILENT.
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
                xmlns:g="urn:customs-hub:gather:1" xmlns:r="urn:customs-hub:review:1"
                xmlns="urn:customs-hub:review:1" exclude-result-prefixes="g r">

  <xsl:output method="xml" encoding="UTF-8" indent="yes"/>

  <xsl:template match="/g:Gathering">
    <xsl:variable name="verdicts" select="g:Answer/r:AgencyVerdict"/>
    <ReviewDecision>
      <Header>
        <MessageId><xsl:value-of select="@messageId"/></MessageId>
        <SenderId><xsl:value-of select="@senderId"/></SenderId>
        <ReceiverId><xsl:value-of select="@receiverId"/></ReceiverId>
        <SentAt><xsl:value-of select="@decidedAt"/></SentAt>
      </Header>
      <ApplicationId><xsl:value-of select="@key"/></ApplicationId>
      <Decision>
        <xsl:choose>
          <xsl:when test="$verdicts[r:Verdict = 'REJECTED']">REJECTED</xsl:when>
          <xsl:when test="not(g:Member[@answered = 'false']) and not($verdicts[r:Verdict != 'APPROVED'])">APPROVED</xsl:when>
          <xsl:otherwise>INCOMPLETE</xsl:otherwise>
        </xsl:choose>
      </Decision>
      <xsl:for-each select="g:Member">
        <xsl:variable name="verdict" select="$verdicts[r:Agency = current()/@name]"/>
        <AgencyResult>
          <Agency><xsl:value-of select="@name"/></Agency>
          <xsl:choose>
            <xsl:when test="$verdict">
              <Verdict><xsl:value-of select="$verdict/r:Verdict"/></Verdict>
              <xsl:copy-of select="$verdict/r:Reason"/>
              <xsl:copy-of select="$verdict/r:Reviewer"/>
              <xsl:copy-of select="$verdict/r:DecidedAt"/>
            </xsl:when>
            <xsl:otherwise>
              <Verdict>SILENT</Verdict>
            </xsl:otherwise>
          </xsl:choose>
        </AgencyResult>
      </xsl:for-each>
      <DecidedAt><xsl:value-of select="@decidedAt"/></DecidedAt>
    </ReviewDecision>
  </xsl:template>

</xsl:stylesheet>
