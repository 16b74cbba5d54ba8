<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="html" doctype-public="-//W3C//DTD HTML 4.01//EN" doctype-system="http://www.w3.org/TR/html4/strict.dtd"/>
  <xsl:template match="/catalog">
    <html>
      <head><title>Catalog &amp; more</title><script>if (a &lt; b &amp;&amp; c) { run(); }</script></head>
      <body>
        <h1>Books&#160;list</h1>
        <form><input type="checkbox" checked="checked" name="x"/><br/><select><option selected="selected" value="a&amp;b">A</option></select></form>
        <table>
          <xsl:for-each select="book[price &gt; 10]">
            <tr class="{genre}"><td><xsl:value-of select="title"/></td><td><b><xsl:value-of select="price"/></b></td></tr>
          </xsl:for-each>
        </table>
        <a href="search?q={title[1]}&amp;x=1&amp;{{y}}">link &lt; &gt;</a>
        <p/>
      </body>
    </html>
  </xsl:template>
</xsl:stylesheet>
