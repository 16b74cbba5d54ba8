<?xml version="1.0"?>
<!-- Global parameters (from the policy), named templates with parameters, recursion. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes" indent="yes"/>
  <xsl:param name="client"/>
  <xsl:param name="limit" select="3"/>
  <xsl:param name="suffix">-default</xsl:param>
  <xsl:variable name="header" select="concat('for ', $client, $suffix)"/>
  <xsl:template match="/catalog">
    <result header="{$header}" limit="{$limit}">
      <xsl:apply-templates select="book[position() &lt;= $limit]">
        <xsl:with-param name="mark" select="'*'"/>
      </xsl:apply-templates>
      <stars>
        <xsl:call-template name="repeat">
          <xsl:with-param name="s" select="'*'"/>
          <xsl:with-param name="n" select="$limit + 2"/>
        </xsl:call-template>
      </stars>
      <fact>
        <xsl:call-template name="factorial">
          <xsl:with-param name="n" select="10"/>
        </xsl:call-template>
      </fact>
      <defaults><xsl:call-template name="defaults"/></defaults>
    </result>
  </xsl:template>
  <xsl:template match="book">
    <xsl:param name="mark" select="'-'"/>
    <xsl:param name="unset">content default</xsl:param>
    <b><xsl:value-of select="concat($mark, title, ' / ', $unset)"/></b>
  </xsl:template>
  <xsl:template name="repeat">
    <xsl:param name="s"/>
    <xsl:param name="n"/>
    <xsl:if test="$n &gt; 0">
      <xsl:value-of select="$s"/>
      <xsl:call-template name="repeat">
        <xsl:with-param name="s" select="$s"/>
        <xsl:with-param name="n" select="$n - 1"/>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>
  <xsl:template name="factorial">
    <xsl:param name="n"/>
    <xsl:param name="acc" select="1"/>
    <xsl:choose>
      <xsl:when test="$n &lt;= 1"><xsl:value-of select="$acc"/></xsl:when>
      <xsl:otherwise>
        <xsl:call-template name="factorial">
          <xsl:with-param name="n" select="$n - 1"/>
          <xsl:with-param name="acc" select="$acc * $n"/>
        </xsl:call-template>
      </xsl:otherwise>
    </xsl:choose>
  </xsl:template>
  <xsl:template name="defaults">
    <xsl:param name="a" select="'A'"/>
    <xsl:param name="b" select="concat($a, 'B')"/>
    <xsl:value-of select="$b"/>
  </xsl:template>
</xsl:stylesheet>
