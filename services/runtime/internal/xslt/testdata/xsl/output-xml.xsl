<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="yes" encoding="ISO-8859-1" standalone="yes" doctype-system="catalog.dtd" cdata-section-elements="raw"/>
  <xsl:template match="/catalog">
    <xsl:processing-instruction name="xml-stylesheet">href="style.css" type="text/css"</xsl:processing-instruction>
    <xsl:comment> generated -- from <xsl:value-of select="count(book)"/> books </xsl:comment>
    <catalog>
      <xsl:for-each select="book[@lang='de' or @lang='fr']">
        <book author="{author}" note="tab&#9;nl&#10;quote&quot;lt&lt;">
          <xsl:value-of select="title"/>
          <raw>a &lt; b ]]&gt; c — ü</raw>
        </book>
      </xsl:for-each>
      <empty/>
      <nested><a><b/></a></nested>
      <mixed>text <b>bold</b></mixed>
    </catalog>
  </xsl:template>
</xsl:stylesheet>
