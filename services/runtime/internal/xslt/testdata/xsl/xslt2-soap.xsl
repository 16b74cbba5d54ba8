<?xml version="1.0"?>
<!-- XSLT 2.0 as bundles write it: *:local name tests instead of declared
     prefixes, if-then-else, the regular expression and case functions,
     tokenize, and sequences written as text (all items, space separated). -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" exclude-result-prefixes="xs">
  <xsl:output method="xml" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="/">
    <orders ids="{//*:Order/@id}" count="{count(//*:Order)}">
      <xsl:attribute name="currencies" select="//*:Total/@currency" separator=","/>
      <xsl:apply-templates select="*:Envelope/*:Body/*:GetOrdersResponse/*:Order"/>
      <all-ids><xsl:value-of select="//*:Order/@id"/></all-ids>
      <joined><xsl:value-of select="//*:Line/@sku" separator=" | "/></joined>
      <first-only><xsl:value-of select="string((//*:Line/@sku)[1])"/></first-only>
      <skus><xsl:value-of select="string-join(//*:Line/@sku, '+')"/></skus>
      <atoms><xsl:copy-of select="'a'"/><xsl:copy-of select="1 + 1"/><xsl:copy-of select="true()"/><xsl:text>|</xsl:text><xsl:copy-of select="'b'"/></atoms>
      <tokens>
        <xsl:for-each select="tokenize('north, south,east ,, west', '\s*,\s*')">
          <token n="{position()}" of="{last()}"><xsl:value-of select="upper-case(.)"/></token>
        </xsl:for-each>
      </tokens>
      <token-count><xsl:value-of select="count(tokenize('a b  c', ' '))"/>/<xsl:value-of select="count(tokenize(' a  b c '))"/>/<xsl:value-of select="count(tokenize('', ','))"/></token-count>
      <token-copy><xsl:copy-of select="tokenize('x;y;z', ';')"/></token-copy>
      <token-pick><xsl:value-of select="tokenize('x;y;z', ';')[2]"/></token-pick>
      <token-test><xsl:value-of select="if (tokenize('x;y;z', ';') = 'z') then 'has z' else 'no z'"/></token-test>
      <empty-arithmetic a="{//*:Order[1]/@missing * 2}" b="{-//*:Order[1]/@missing}" c="{round(//*:Order[1]/@missing)}" d="{() + 1}"/>
      <numbers>
        <double><xsl:value-of select="sum(//*:Line/@qty) * 100000"/></double>
        <double><xsl:value-of select="//*:Order[3]/*:Total * 1000"/></double>
        <double><xsl:value-of select="//*:Order[3]/*:Total div 1000000000"/></double>
        <double><xsl:value-of select="number('1e3')"/></double>
        <double><xsl:value-of select="floor(//*:Order[1]/*:Total)"/></double>
        <integer><xsl:value-of select="12 * 100000"/></integer>
        <integer><xsl:value-of select="count(//*:Line) * 1000000"/></integer>
        <decimal><xsl:value-of select="2.5 * 4"/></decimal>
      </numbers>
    </orders>
  </xsl:template>

  <xsl:template match="*:Order">
    <order id="{lower-case(@id)}" kind="{if (@status = 'shipped') then 'closed' else 'pending'}">
      <customer>
        <xsl:value-of select="replace(normalize-space(*:Customer), '^(\w+) &amp; (\w+)$', '$2 and $1')"/>
      </customer>
      <xsl:if test="matches(*:Customer/@type, '^RETAIL$', 'i')"><retail/></xsl:if>
      <xsl:if test="ends-with(@id, '-2')"><second/></xsl:if>
      <lines><xsl:value-of select="*:Line"/></lines>
    </order>
  </xsl:template>
</xsl:stylesheet>
