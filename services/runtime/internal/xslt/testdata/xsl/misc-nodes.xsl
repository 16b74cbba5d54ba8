<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes"/>
  <xsl:template match="/">
    <xsl:message>starting with <xsl:value-of select="count(//*)"/> elements</xsl:message>
    <out>
      <xsl:comment>a -- b -</xsl:comment>
      <xsl:processing-instruction name="pi-{local-name(/*)}">x ?&gt; y</xsl:processing-instruction>
      <xsl:copy-of select="/doc/comment() | //processing-instruction()"/>
      <xsl:copy-of select="/doc/p"/>
      <attr-copy><xsl:copy-of select="/doc/note/@lang"/></attr-copy>
      <xsl:copy-of select="/doc/code/text()"/>
      <xsl:apply-templates select="/doc/list/li"/>
      <xsl:value-of select="'&lt;raw/&gt;'" disable-output-escaping="yes"/>
      <xsl:text disable-output-escaping="yes">&lt;![CDATA[x]]&gt;</xsl:text>
      <xsl:text>&lt;escaped/&gt;</xsl:text>
    </out>
  </xsl:template>
  <xsl:template match="li[normalize-space() = '']"><blank/></xsl:template>
  <xsl:template match="li"><xsl:copy><xsl:value-of select="."/></xsl:copy></xsl:template>
</xsl:stylesheet>
