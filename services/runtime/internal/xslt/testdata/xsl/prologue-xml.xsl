<?xml version="1.0"?>
<!-- Without indentation: comment before the DOCTYPE, character references for US-ASCII, CDATA sections. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output encoding="US-ASCII" doctype-system="x.dtd" doctype-public="-//P" cdata-section-elements="c"/>
  <xsl:template match="/">
    <xsl:comment>c</xsl:comment>
    <r a="&quot;&#x2014;&#10;&#13;&#9;&lt;&gt;&amp;'é">
      <xsl:value-of select="'&quot;&gt;&#13;&#x2014;&#x1F600;'"/>
      <c>é</c>
      <c>a]]&gt;é b</c>
    </r>
  </xsl:template>
</xsl:stylesheet>
