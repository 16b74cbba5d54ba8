<?xml version="1.0"?>
<!-- XSLT 2.0 namespace handling: xsl:namespace (select and content),
     copy-namespaces="no" on xsl:copy-of and xsl:copy, xpath-default-namespace,
     exclude-result-prefixes on xsl:template, and modes: a list, #all,
     #current and #default. -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ord="urn:example:orders"
    xmlns:api="urn:example:api" exclude-result-prefixes="soap">
  <xsl:output method="xml" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="/">
    <envelope>
      <xsl:namespace name="svc" select="'urn:example:service'"/>
      <xsl:namespace name="v{count(//ord:Order)}">urn:example:<xsl:value-of select="'v3'"/></xsl:namespace>
      <xsl:namespace name="ord" select="'urn:example:orders'"/>
      <with-namespaces>
        <xsl:copy-of select="//ord:Order[1]/ord:Total"/>
      </with-namespaces>
      <without-namespaces>
        <xsl:copy-of select="//ord:Order[1]/ord:Total" copy-namespaces="no"/>
        <xsl:for-each select="//ord:Order[2]">
          <xsl:copy copy-namespaces="no"><xsl:copy-of select="@id"/></xsl:copy>
        </xsl:for-each>
      </without-namespaces>
      <xsl:apply-templates select="//ord:Order" mode="summary"/>
      <xsl:apply-templates select="//ord:Order[1]" mode="a"/>
      <xsl:apply-templates select="//ord:Order[1]" mode="b"/>
      <xsl:apply-templates select="//ord:Order[1]/ord:Customer" mode="#default"/>
    </envelope>
  </xsl:template>

  <!-- Unprefixed names in this template's expressions are orders. -->
  <xsl:template match="Order" mode="summary" xpath-default-namespace="urn:example:orders"
      exclude-result-prefixes="ord api">
    <summary id="{@id}" customer="{Customer}" lines="{count(Line)}" total="{Total/@currency}"/>
  </xsl:template>

  <xsl:template match="ord:Order" mode="a b">
    <in-a-or-b><xsl:apply-templates select="ord:Total" mode="#current"/></in-a-or-b>
  </xsl:template>

  <xsl:template match="ord:Total" mode="a">
    <total-a><xsl:value-of select="."/></total-a>
  </xsl:template>

  <xsl:template match="ord:Total" mode="#all" priority="-1">
    <total-any><xsl:value-of select="."/></total-any>
  </xsl:template>

  <xsl:template match="ord:Customer">
    <api:customer><xsl:value-of select="@type"/></api:customer>
  </xsl:template>
</xsl:stylesheet>
