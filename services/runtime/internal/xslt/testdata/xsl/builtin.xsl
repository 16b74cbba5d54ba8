<?xml version="1.0"?>
<!-- Only titles have a template: the built-in rules copy all other text, attributes selected explicitly print their value. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:strip-space elements="*"/>
  <xsl:template match="title">[<xsl:value-of select="."/>]</xsl:template>
  <xsl:template match="book"><xsl:apply-templates select="@id"/>:<xsl:apply-templates/>|</xsl:template>
</xsl:stylesheet>
