<?xml version="1.0" encoding="UTF-8"?>
<!-- XSLT 2.0 this runtime does not implement: refused at deployment, even
     with an xsl:fallback (Saxon would run the instruction, not the fallback). -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:template match="/">
    <parts>
      <xsl:analyze-string select="." regex="[0-9]+">
        <xsl:matching-substring><n><xsl:value-of select="."/></n></xsl:matching-substring>
        <xsl:fallback><unsplit/></xsl:fallback>
      </xsl:analyze-string>
    </parts>
  </xsl:template>
</xsl:stylesheet>
