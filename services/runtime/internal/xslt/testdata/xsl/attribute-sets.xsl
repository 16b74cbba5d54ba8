<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:attribute-set name="base">
    <xsl:attribute name="class">book</xsl:attribute>
    <xsl:attribute name="lang"><xsl:value-of select="@lang"/></xsl:attribute>
  </xsl:attribute-set>
  <xsl:attribute-set name="full" use-attribute-sets="base">
    <xsl:attribute name="class">book full</xsl:attribute>
    <xsl:attribute name="n"><xsl:value-of select="count(preceding-sibling::book) + 1"/></xsl:attribute>
  </xsl:attribute-set>
  <xsl:template match="/catalog">
    <out>
      <xsl:for-each select="book[position() &lt; 3]">
        <lit xsl:use-attribute-sets="full" class="literal wins"/>
        <xsl:element name="el" use-attribute-sets="base"/>
        <xsl:copy use-attribute-sets="base"><xsl:attribute name="lang">overridden</xsl:attribute></xsl:copy>
      </xsl:for-each>
    </out>
  </xsl:template>
</xsl:stylesheet>
