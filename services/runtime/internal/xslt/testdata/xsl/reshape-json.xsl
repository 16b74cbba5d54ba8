<?xml version="1.0"?>
<!-- SOAP to JSON text, the way Apigee bundles often do it. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:example:orders">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:template match="/">
    <xsl:text>{"orders":[</xsl:text>
    <xsl:for-each select="soap:Envelope/soap:Body/o:GetOrdersResponse/o:Order">
      <xsl:if test="position() &gt; 1">,</xsl:if>
      <xsl:text>{"id":"</xsl:text><xsl:value-of select="@id"/>
      <xsl:text>","customer":"</xsl:text>
      <xsl:call-template name="json-escape">
        <xsl:with-param name="s" select="o:Customer"/>
      </xsl:call-template>
      <xsl:text>","total":</xsl:text><xsl:value-of select="number(o:Total)"/>
      <xsl:text>,"lines":</xsl:text><xsl:value-of select="count(o:Line)"/>
      <xsl:text>,"shipped":</xsl:text><xsl:value-of select="@status = 'shipped'"/>
      <xsl:text>}</xsl:text>
    </xsl:for-each>
    <xsl:text>]}</xsl:text>
  </xsl:template>
  <!-- Escapes backslashes and quotes, recursively. -->
  <xsl:template name="json-escape">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '&quot;')">
        <xsl:value-of select="substring-before($s, '&quot;')"/>
        <xsl:text>\"</xsl:text>
        <xsl:call-template name="json-escape">
          <xsl:with-param name="s" select="substring-after($s, '&quot;')"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
