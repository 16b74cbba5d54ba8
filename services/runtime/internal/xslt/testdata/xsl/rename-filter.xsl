<?xml version="1.0"?>
<!-- Reshape: rename, filter, add attributes and computed values. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:example:orders"
    exclude-result-prefixes="soap o">
  <xsl:output indent="yes"/>
  <xsl:template match="/">
    <shipped count="{count(//o:Order[@status='shipped'])}" source="{name(/*)}">
      <xsl:apply-templates select="//o:Order[@status='shipped']"/>
    </shipped>
  </xsl:template>
  <xsl:template match="o:Order">
    <order ref="{@id}" customer-type="{o:Customer/@type}" lines="{count(o:Line)}">
      <xsl:attribute name="big"><xsl:value-of select="o:Total &gt; 100"/></xsl:attribute>
      <xsl:element name="{translate(local-name(o:Customer), 'CUSTOMER', 'customer')}">
        <xsl:value-of select="normalize-space(o:Customer)"/>
      </xsl:element>
      <amount currency="{o:Total/@currency}">{<xsl:value-of select="o:Total * 2"/>}</amount>
      <xsl:for-each select="o:Line">
        <item sku="{@sku}" n="{position()}/{last()}">{{<xsl:value-of select="."/>}}</item>
      </xsl:for-each>
    </order>
  </xsl:template>
</xsl:stylesheet>
