<?xml version="1.0"?>
<!-- Conflict resolution by XSLT's default priorities and explicit ones. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:o="urn:example:orders">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:template match="/">
    <r><xsl:apply-templates select="//o:Order/*|//o:Order|//o:Order/@*|//soap-free"/></r>
  </xsl:template>
  <!-- -0.5 -->
  <xsl:template match="node()">[node <xsl:value-of select="local-name()"/>]</xsl:template>
  <xsl:template match="*">[* <xsl:value-of select="local-name()"/>]</xsl:template>
  <!-- -0.25 -->
  <xsl:template match="o:*">[o:* <xsl:value-of select="local-name()"/>]</xsl:template>
  <!-- 0 -->
  <xsl:template match="o:Line">[o:Line <xsl:value-of select="@sku"/>]</xsl:template>
  <!-- 0.5 beats 0 -->
  <xsl:template match="o:Order[@status='open']">[open <xsl:value-of select="@id"/>]</xsl:template>
  <!-- 0.5 as well: the later one wins the tie -->
  <xsl:template match="o:Order/o:Total">[total-first]</xsl:template>
  <xsl:template match="o:GetOrdersResponse/o:Order/o:Total">[total-last <xsl:value-of select="."/>]</xsl:template>
  <!-- explicit priority beats the others -->
  <xsl:template match="o:Customer" priority="2">[customer <xsl:value-of select="@type"/>]</xsl:template>
  <xsl:template match="o:Order/o:Customer[@type='retail']">[never: priority 0.5 &lt; 2]</xsl:template>
  <!-- attributes: @* is -0.5, @id is 0 -->
  <xsl:template match="@*">[@<xsl:value-of select="name()"/>]</xsl:template>
  <xsl:template match="@id">[@id=<xsl:value-of select="."/>]</xsl:template>
  <!-- '|' alternatives get their own priorities -->
  <xsl:template match="o:Order | o:Order[@status='shipped'][o:Line]">[order <xsl:value-of select="@id"/> (<xsl:value-of select="count(o:Line)"/>)]</xsl:template>
</xsl:stylesheet>
