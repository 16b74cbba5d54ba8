<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:strip-space elements="list"/>
  <xsl:template name="names">
    <xsl:param name="ns"/>
    <xsl:for-each select="$ns">
      <xsl:choose>
        <xsl:when test="self::*"><xsl:value-of select="name()"/></xsl:when>
        <xsl:when test="self::text()">'<xsl:value-of select="normalize-space()"/>'</xsl:when>
        <xsl:when test="self::comment()">#c</xsl:when>
        <xsl:when test="self::processing-instruction()">?<xsl:value-of select="name()"/></xsl:when>
        <xsl:otherwise>@<xsl:value-of select="name()"/></xsl:otherwise>
      </xsl:choose>
      <xsl:if test="position() != last()">,</xsl:if>
    </xsl:for-each>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
  <xsl:template match="/">
    <xsl:variable name="b" select="/doc/p/b"/>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="$b/ancestor::*"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="$b/ancestor-or-self::node()"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="$b/following-sibling::node()"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="$b/preceding-sibling::node()"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="/doc/list/following::*"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="/doc/list/preceding::node()"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="/doc/descendant::*"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="/node()"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="/doc/note/@lang/parent::*/preceding-sibling::*[1]"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="/doc/note/@lang/following::node()"/></xsl:call-template>
    <xsl:call-template name="names"><xsl:with-param name="ns" select="//li[2] | //b | /doc/code"/></xsl:call-template>
    <xsl:value-of select="concat(count(//li[1]), count((//li)[1]), count(//li[last()]), ' ', /doc/list/li[last()]/preceding-sibling::li[1], ' ', (/doc/list/li[last()]/preceding-sibling::li)[1], ' ', count(//@*), ' ', count(//text()), ' ', count(//comment()), ' ', count(//processing-instruction('render')), count(//processing-instruction('other')))"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat('[', /doc/list/li[2], '] ', /doc/code, ' ', count(/doc/*[position() mod 2 = 1]), ' ', name(/doc/*[last() - 1]), ' ', /doc/*[self::note or self::code][1])"/>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
