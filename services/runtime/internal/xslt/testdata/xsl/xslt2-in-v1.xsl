<?xml version="1.0"?>
<!-- XSLT 2.0 instructions and attributes in a version="1.0" stylesheet, as
     generated SOAP bundles write them: Saxon runs them in its backwards
     compatible mode, where xsl:value-of and attribute value templates still
     take the first node only, while the new select attributes join all.
     And the namespace axis as those bundles use it. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:o="urn:example:orders" exclude-result-prefixes="o">
  <xsl:output method="xml" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>
  <xsl:param name="target" select="'urn:example:backend'"/>

  <xsl:template match="/">
    <xsl:apply-templates select="//o:GetOrdersResponse"/>
  </xsl:template>

  <xsl:template match="o:GetOrdersResponse">
    <xsl:element name="be:Orders" namespace="{$target}">
      <xsl:namespace name="be" select="$target"/>
      <xsl:namespace name="xsi" select="'http://www.w3.org/2001/XMLSchema-instance'"/>
      <xsl:attribute name="ids" select="o:Order/@id"/>
      <xsl:attribute name="first" select="string(o:Order/@id)"/>
      <xsl:attribute name="avt-first"><xsl:value-of select="o:Order/@id"/></xsl:attribute>
      <xsl:comment select="concat(' ', count(o:Order), ' orders ')"/>
      <xsl:for-each select="o:Order">
        <xsl:element name="be:Order" namespace="{$target}">
          <xsl:attribute name="xsi:type" namespace="http://www.w3.org/2001/XMLSchema-instance">be:OrderType</xsl:attribute>
          <xsl:value-of select="o:Line/@sku"/>
        </xsl:element>
      </xsl:for-each>
      <xsl:processing-instruction name="skus" select="//o:Line/@sku"/>
      <xsl:apply-templates select="o:Order[1]/o:Customer | o:Order[1]/o:Total"/>
    </xsl:element>
  </xsl:template>

  <!-- Renamed into the backend's namespace, keeping the input element's
       namespaces (xsl:copy-of select="namespace::*"). -->
  <xsl:template match="o:Customer">
    <xsl:element name="be:{local-name()}" namespace="{$target}">
      <xsl:copy-of select="namespace::*"/>
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>

  <!-- A copied namespace takes its prefix back from the element's name. -->
  <xsl:template match="o:Total">
    <xsl:element name="o:{local-name()}" namespace="urn:example:other">
      <xsl:copy-of select="namespace::*"/>
      <xsl:value-of select="."/>
    </xsl:element>
  </xsl:template>
</xsl:stylesheet>
