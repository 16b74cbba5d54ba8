<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template match="/">Title: <xsl:value-of select="catalog/book[1]/title"/>
<xsl:for-each select="//book">- <xsl:value-of select="concat(@id, ' &lt;', author, '&gt; &amp; ', price)"/><xsl:text>&#10;</xsl:text></xsl:for-each>
  <markup>tags vanish, <b>text</b> stays</markup>
  </xsl:template>
</xsl:stylesheet>
