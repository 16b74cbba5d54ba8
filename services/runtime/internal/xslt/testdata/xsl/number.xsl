<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:decimal-format name="eu" decimal-separator="," grouping-separator="."/>
  <xsl:template match="/catalog">
    <xsl:for-each select="book">
      <xsl:number format="1. "/><xsl:value-of select="title"/>
      <xsl:text> (</xsl:text><xsl:number format="a"/>/<xsl:number format="I"/>/<xsl:number format="01"/>/<xsl:number level="any" count="genre[.='cooking']"/>
      <xsl:text>)&#10;</xsl:text>
    </xsl:for-each>
    <xsl:for-each select="book/title">
      <xsl:number level="multiple" count="catalog|book|title" format="1.1 "/>
    </xsl:for-each>
    <xsl:text>&#10;</xsl:text>
    <xsl:number value="1234567" grouping-separator="," grouping-size="3"/>
    <xsl:text> </xsl:text><xsl:number value="28" format="A"/>
    <xsl:text> </xsl:text><xsl:number value="1999" format="i"/>
    <xsl:text> </xsl:text><xsl:number value="2.5"/>
    <xsl:text> </xsl:text><xsl:number value="3" format="[001]"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="format-number(1234.5, '#,##0.00')"/>|<xsl:value-of select="format-number(0.125, '0.00')"/>|<xsl:value-of select="format-number(-3.7, '0')"/>|<xsl:value-of select="format-number(0.256, '0.0%')"/>|<xsl:value-of select="format-number(42, '000000')"/>|<xsl:value-of select="format-number(-5, '#;(#)')"/>|<xsl:value-of select="format-number(1234567.891, '#.##0,00', 'eu')"/>|<xsl:value-of select="format-number(number('x'), '0')"/>|<xsl:value-of select="format-number(2.5, '0')"/>|<xsl:value-of select="format-number(3.5, '0')"/>|<xsl:value-of select="format-number(0.5, '#.#')"/>|<xsl:value-of select="format-number(12, '$#,##0.00 USD')"/>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
