<?xml version="1.0"?>
<!-- Forwards-compatible processing (XSLT 1.0 section 2.5): a stylesheet for
     a later XSLT version runs; unknown top-level elements and unknown
     attributes are ignored, an unknown instruction runs its xsl:fallback
     children, and so does an extension element this processor lacks. -->
<xsl:stylesheet version="4.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:ext="urn:example:extensions" extension-element-prefixes="ext"
    exclude-result-prefixes="ext" some-future-attribute="x">
  <xsl:output method="xml" indent="yes" omit-xml-declaration="yes" future-option="on"/>
  <xsl:strip-space elements="*"/>
  <xsl:future-declaration name="d"><xsl:anything/></xsl:future-declaration>

  <xsl:template match="/catalog" future-flag="yes">
    <books xsl:future-literal-attribute="1">
      <xsl:for-each select="book[1]" future-order="random">
        <xsl:value-of select="title" future-escaping="json"/>
      </xsl:for-each>
      <xsl:future-instruction select="book">
        <xsl:fallback><fallback n="1"/></xsl:fallback>
        <ignored-content/>
        <xsl:fallback><fallback n="2" count="{count(book)}"/></xsl:fallback>
      </xsl:future-instruction>
      <xsl:if test="book">
        <xsl:fallback><never/></xsl:fallback>
        <known/>
      </xsl:if>
      <ext:log level="debug">
        <xsl:fallback><no-extension/></xsl:fallback>
      </ext:log>
    </books>
  </xsl:template>
</xsl:stylesheet>
