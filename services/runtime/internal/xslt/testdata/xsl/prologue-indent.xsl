<?xml version="1.0"?>
<!-- With indentation, no XML declaration and a DOCTYPE: what goes on which line before and after the document element. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output indent="yes" omit-xml-declaration="yes" doctype-system="x.dtd"/>
  <xsl:template match="/">
    <xsl:processing-instruction name="p">d</xsl:processing-instruction>
    <xsl:comment>c</xsl:comment>
    <xsl:comment>c2</xsl:comment>
    <root><a/></root>
    <xsl:comment>e</xsl:comment>
  </xsl:template>
</xsl:stylesheet>
