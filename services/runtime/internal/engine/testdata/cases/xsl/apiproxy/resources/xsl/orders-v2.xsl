<?xml version="1.0" encoding="UTF-8"?>
<!-- The SOAP response as a bundle written for XSLT 2.0 reshapes it: *:local
     names instead of declared prefixes, orders grouped by status, if-then-
     else, the string functions, a tokenized parameter, a policy parameter
     converted with as=, and the reply's namespace declared with
     xsl:namespace. -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" exclude-result-prefixes="xs">
  <xsl:output method="xml" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>
  <xsl:param name="min" as="xs:double" select="0"/>
  <xsl:param name="tags" as="xs:string" select="''"/>
  <xsl:template match="/">
    <xsl:element name="r:orders" namespace="urn:example:reply">
      <xsl:namespace name="r" select="'urn:example:reply'"/>
      <xsl:attribute name="ids" select="//*:Order[number(*:Total) &gt;= $min]/@id" separator=","/>
      <xsl:attribute name="tags" select="string-join(tokenize(upper-case($tags), '\s*;\s*'), '|')"/>
      <xsl:for-each-group select="//*:GetOrdersResponse/*:Order[number(*:Total) &gt;= $min]" group-by="@status">
        <xsl:sort select="current-grouping-key()"/>
        <group status="{current-grouping-key()}" orders="{current-group()/@id}"
            total="{sum(current-group()/*:Total)}"
            size="{if (count(current-group()) &gt; 1) then 'many' else 'one'}">
          <xsl:for-each select="current-group()">
            <customer><xsl:value-of select="replace(normalize-space(*:Customer), '\s*&amp;\s*', ' and ')"/></customer>
          </xsl:for-each>
        </group>
      </xsl:for-each-group>
    </xsl:element>
  </xsl:template>
</xsl:stylesheet>
