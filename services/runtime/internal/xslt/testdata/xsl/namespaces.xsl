<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns="urn:out:default" xmlns:o="urn:example:orders" xmlns:x="urn:x" exclude-result-prefixes="o">
  <xsl:output omit-xml-declaration="yes" indent="yes"/>
  <xsl:template match="/">
    <root>
      <xsl:element name="in-default"/>
      <xsl:element name="none" namespace=""/>
      <xsl:element name="x:prefixed"/>
      <xsl:element name="y:other" namespace="urn:y"/>
      <xsl:element name="x:rebound" namespace="urn:not-x"><x:child/></xsl:element>
      <plain xmlns="" attr="v"><xsl:attribute name="x:a">1</xsl:attribute><xsl:attribute name="z" namespace="urn:z">2</xsl:attribute></plain>
      <xsl:copy-of select="//o:Order[1]/o:Total"/>
      <xsl:for-each select="//o:Order[1]/o:Line[1]"><xsl:copy/></xsl:for-each>
      <qnames><xsl:value-of select="concat(name(//o:Order[1]), ' ', local-name(//o:Order[1]), ' ', namespace-uri(//o:Order[1]), ' ', count(//*[namespace-uri() = 'urn:example:orders']))"/></qnames>
    </root>
  </xsl:template>
</xsl:stylesheet>
