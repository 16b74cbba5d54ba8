<?xml version="1.0" encoding="UTF-8"?>
<!-- A client's order turned into the backend's format, with values the policy passes in. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:param name="channel" select="'web'"/>
  <xsl:param name="tenant"/>
  <xsl:param name="region" select="'eu'"/>
  <xsl:param name="version"/>
  <xsl:template match="/order">
    <Order channel="{$channel}" tenant="{$tenant}" region="{$region}" version="{$version}" quantity="{sum(item/@qty)}">
      <xsl:for-each select="item">
        <Line n="{position()}" sku="{translate(@sku, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')}" quantity="{@qty}"/>
      </xsl:for-each>
    </Order>
  </xsl:template>
</xsl:stylesheet>
