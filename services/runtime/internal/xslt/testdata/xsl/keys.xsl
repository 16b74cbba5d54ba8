<?xml version="1.0"?>
<!-- Muenchian grouping with xsl:key, key() with a node-set, generate-id(). -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output indent="yes" omit-xml-declaration="yes"/>
  <xsl:key name="by-genre" match="book" use="genre"/>
  <xsl:key name="by-id" match="book" use="@id"/>
  <xsl:key name="by-lang" match="book/@lang" use="."/>
  <xsl:template match="/catalog">
    <groups>
      <xsl:for-each select="book[generate-id() = generate-id(key('by-genre', genre)[1])]">
        <xsl:sort select="genre"/>
        <group genre="{genre}" count="{count(key('by-genre', genre))}">
          <xsl:for-each select="key('by-genre', genre)">
            <title><xsl:value-of select="title"/></title>
          </xsl:for-each>
        </group>
      </xsl:for-each>
      <picked><xsl:value-of select="count(key('by-id', book[genre='cooking']/@id))"/></picked>
      <english><xsl:value-of select="count(key('by-lang', 'en'))"/></english>
      <same-id><xsl:value-of select="generate-id(book[1]) = generate-id(key('by-id', 'b1'))"/></same-id>
      <none><xsl:value-of select="count(key('by-id', 'nope'))"/></none>
    </groups>
  </xsl:template>
</xsl:stylesheet>
