<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>
  <xsl:preserve-space elements="list"/>
  <xsl:template match="/">
    <xsl:copy-of select="."/>
    <counts><xsl:value-of select="concat(count(/doc/text()), ' ', count(/doc/list/text()), ' ', count(/doc/list/li[2]/text()))"/></counts>
  </xsl:template>
</xsl:stylesheet>
