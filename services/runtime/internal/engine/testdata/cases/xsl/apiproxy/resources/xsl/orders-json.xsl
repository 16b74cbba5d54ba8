<?xml version="1.0" encoding="UTF-8"?>
<!-- The same response as JSON text, filtered by a parameter. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:o="urn:example:orders">
  <xsl:output method="text"/>
  <xsl:param name="status"/>
  <xsl:template match="/">
    <xsl:variable name="orders" select="//o:Order[$status = '' or @status = $status]"/>
    <xsl:text>{"count":</xsl:text><xsl:value-of select="count($orders)"/>
    <xsl:text>,"total":</xsl:text><xsl:value-of select="format-number(sum($orders/o:Total), '0.00')"/>
    <xsl:text>,"ids":[</xsl:text>
    <xsl:for-each select="$orders">
      <xsl:if test="position() > 1">,</xsl:if>"<xsl:value-of select="@id"/>"</xsl:for-each>
    <xsl:text>]}</xsl:text>
  </xsl:template>
</xsl:stylesheet>
