<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:exsl="http://exslt.org/common" exclude-result-prefixes="exsl">
  <xsl:output omit-xml-declaration="yes" indent="yes"/>
  <xsl:variable name="books" select="/catalog/book"/>
  <xsl:variable name="total" select="sum($books[number(price) = number(price)]/price)"/>
  <xsl:variable name="later" select="$total * 2"/>
  <xsl:variable name="frag">
    <entry k="a">1</entry>
    <entry k="b">2</entry>
  </xsl:variable>
  <xsl:variable name="empty"/>
  <xsl:template match="/">
    <vars>
      <total><xsl:value-of select="$total"/></total>
      <later><xsl:value-of select="$later"/></later>
      <frag-string><xsl:value-of select="$frag"/></frag-string>
      <frag-copy><xsl:copy-of select="$frag"/></frag-copy>
      <frag-nodes><xsl:value-of select="count(exsl:node-set($frag)/entry)"/>/<xsl:value-of select="exsl:node-set($frag)/entry[@k='b']"/></frag-nodes>
      <empty-is-string><xsl:value-of select="concat('[', $empty, ']', boolean($empty))"/></empty-is-string>
      <xsl:variable name="total" select="'local shadows global'"/>
      <shadow><xsl:value-of select="$total"/></shadow>
      <xsl:for-each select="$books[position() &lt;= 2]">
        <xsl:variable name="t" select="title"/>
        <xsl:variable name="upper">
          <xsl:value-of select="translate($t, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')"/>
        </xsl:variable>
        <loop i="{position()}" t="{$t}" u="{$upper}"/>
      </xsl:for-each>
      <copy-scalar><xsl:copy-of select="1 + 1"/></copy-scalar>
    </vars>
  </xsl:template>
</xsl:stylesheet>
