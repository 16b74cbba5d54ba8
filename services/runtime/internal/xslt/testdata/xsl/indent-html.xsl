<?xml version="1.0"?>
<!-- Indentation as Saxon's HTML indenter does it: inline and block elements, text, comments, pre. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" encoding="US-ASCII" doctype-system="about:legacy-compat"/>
  <xsl:template match="/">
    <html>
      <head/>
      <body title="q&quot;&#x2014;&#xe9;&#160;&lt;">&#x2014;&#xe9;&#160;"<pre>a
<xsl:text>  </xsl:text><b/>  </pre>
        <xmp><b/><p/></xmp>
        <style><b/></style>
        <div><button>b</button><ins>i</ins><nav/><section/><img/><area/></div>
        <div><b>x</b><p>y</p><title><p/></title></div>
        <div><b>x</b> text</div>
        <div><p/>text</div>
        <div><p/><xsl:text>  </xsl:text></div>
        <div><span><p/></span><p/></div>
        <div><xsl:text> </xsl:text><p/></div>
        <div><xsl:comment>c</xsl:comment><p/></div>
        <div><xsl:comment>c</xsl:comment><xsl:comment>e</xsl:comment></div>
        <div><p/><xsl:comment>c</xsl:comment><p/></div>
        <div><p/><xsl:comment>c</xsl:comment></div>
        <div><p/><xsl:comment>c</xsl:comment><b/></div>
        <div><b/><xsl:comment>c</xsl:comment><p/></div>
        <div><b/><xsl:comment>c</xsl:comment></div>
        <div>x<xsl:comment>c</xsl:comment><p/></div>
        <div>x<xsl:comment>c</xsl:comment>y</div>
        <table><tr><td/></tr></table><xsl:text> </xsl:text><p/>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
