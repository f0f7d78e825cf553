<?xml version="1.0" encoding="UTF-8"?>
<!-- REVIEW101 NetworkAccessApplication -> REVIEW111 AgencyReviewRequest for MARKET.
     A thin wrapper: review-application-to-agency.xsl with agency = 'MARKET'. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:import href="review-application-to-agency.xsl"/>
  <xsl:param name="agency" select="'MARKET'"/>
</xsl:stylesheet>
