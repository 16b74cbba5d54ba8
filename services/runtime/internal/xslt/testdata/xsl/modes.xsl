<?xml version="1.0"?>
<!-- One pass for a table of contents, another for the details. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output indent="yes" omit-xml-declaration="yes"/>
  <xsl:template match="/catalog">
    <report>
      <toc><xsl:apply-templates select="book" mode="toc"/></toc>
      <details><xsl:apply-templates select="book[genre='cooking']"/></details>
      <builtin><xsl:apply-templates select="book[1]/title" mode="unknown"/></builtin>
    </report>
  </xsl:template>
  <xsl:template match="book" mode="toc">
    <entry ref="{@id}"><xsl:apply-templates select="title" mode="toc"/></entry>
  </xsl:template>
  <xsl:template match="title" mode="toc">
    <xsl:value-of select="translate(., 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"/>
  </xsl:template>
  <xsl:template match="book">
    <book id="{@id}"><xsl:apply-templates select="title"/></book>
  </xsl:template>
  <xsl:template match="title">
    <name><xsl:value-of select="."/></name>
  </xsl:template>
</xsl:stylesheet>
