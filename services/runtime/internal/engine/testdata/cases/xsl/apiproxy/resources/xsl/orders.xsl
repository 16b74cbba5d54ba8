<?xml version="1.0" encoding="UTF-8"?>
<!-- A SOAP response reshaped into a plain XML document without namespaces. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:o="urn:example:orders"
    exclude-result-prefixes="soap o">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>
  <xsl:template match="/">
    <orders count="{count(//o:Order)}">
      <xsl:apply-templates select="soap:Envelope/soap:Body/o:GetOrdersResponse/o:Order">
        <xsl:sort select="o:Total" data-type="number" order="descending"/>
      </xsl:apply-templates>
    </orders>
  </xsl:template>
  <xsl:template match="o:Order">
    <order id="{@id}" rank="{position()}">
      <xsl:apply-templates select="@status|*"/>
    </order>
  </xsl:template>
  <!-- Everything else: namespaces stripped, names lower-cased. -->
  <xsl:template match="*">
    <xsl:element name="{translate(local-name(), 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')}">
      <xsl:apply-templates select="@*|node()"/>
    </xsl:element>
  </xsl:template>
  <xsl:template match="@*">
    <xsl:attribute name="{local-name()}"><xsl:value-of select="."/></xsl:attribute>
  </xsl:template>
</xsl:stylesheet>
