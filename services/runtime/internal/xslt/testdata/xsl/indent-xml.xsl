<?xml version="1.0"?>
<!-- Indentation as Saxon's XML indenter does it: mixed content, whitespace-only text, comments, xml:space. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output indent="yes" omit-xml-declaration="yes" cdata-section-elements="cd"/>
  <xsl:template match="/">
    <xsl:comment>top</xsl:comment>
    <root>
      <a><b/><c>t</c></a>
      <m>text <b>bold</b></m>
      <m2><b>bold</b> tail</m2>
      <m3><b>x</b><xsl:text> </xsl:text><c/></m3>
      <m4><xsl:text>  </xsl:text><c/><xsl:text>&#10;</xsl:text></m4>
      <m5><b>bold</b>tail<c/><d/></m5>
      <xsl:comment>c1</xsl:comment>
      <e><xsl:comment>c2</xsl:comment><xsl:processing-instruction name="p">d</xsl:processing-instruction><f/></e>
      <g>x<h><i/></h></g>
      <empty></empty>
      <w1><xsl:text> </xsl:text></w1>
      <w2><xsl:text> </xsl:text><xsl:comment>c</xsl:comment><b/></w2>
      <w3><b/><xsl:text> </xsl:text><xsl:comment>c</xsl:comment></w3>
      <w4>x<b/><xsl:text> </xsl:text></w4>
      <w5><b/><xsl:text>&#10;  </xsl:text></w5>
      <w6><b/><xsl:comment>c</xsl:comment><c/></w6>
      <w7><xsl:comment>c</xsl:comment><xsl:text> </xsl:text><c/></w7>
      <w8>a<b/><xsl:comment>c</xsl:comment></w8>
      <p xml:space="preserve"><a><b/></a></p>
      <q><a xml:space="preserve"> <b/> </a><c/></q>
      <cd><b/>t<c/></cd>
      <cd>a<c/></cd>
      <t><xsl:value-of select="'x'" disable-output-escaping="yes"/><b/></t>
    </root>
    <xsl:comment>after</xsl:comment>
    <xsl:processing-instruction name="pi">z</xsl:processing-instruction>
    <xsl:text>  </xsl:text>
  </xsl:template>
</xsl:stylesheet>
