<?xml version="1.0"?>
<!-- xsl:for-each-group: by key (sorted by group size, ties in order of
     first appearance), adjacent keys, a key per token, numeric keys,
     starting and ending patterns; current-group() in sort keys, AVTs and
     called templates. The XML declaration keeps xsl:output's spelling of
     the encoding (utf-8), as Saxon writes it. -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="xml" indent="yes" encoding="utf-8"/>
  <xsl:strip-space elements="*"/>

  <xsl:template match="/catalog">
    <groups>
      <by-genre>
        <xsl:for-each-group select="book" group-by="genre">
          <xsl:sort select="count(current-group())" order="descending" data-type="number"/>
          <genre name="{current-grouping-key()}" books="{current-group()/@id}" at="{position()}/{last()}">
            <xsl:call-template name="titles"/>
          </genre>
        </xsl:for-each-group>
      </by-genre>
      <runs>
        <xsl:for-each-group select="book" group-adjacent="genre = 'fiction' or @lang = 'de'">
          <run fiction-or-german="{current-grouping-key()}" size="{count(current-group())}" first="{@id}"/>
        </xsl:for-each-group>
      </runs>
      <by-word>
        <xsl:for-each-group select="book" group-by="tokenize(lower-case(title), ' ')">
          <xsl:sort select="current-grouping-key()"/>
          <word w="{current-grouping-key()}" ids="{current-group()/@id}"/>
        </xsl:for-each-group>
      </by-word>
      <by-price-band>
        <xsl:for-each-group select="book[number(price) = number(price)]" group-by="floor(number(price) div 10) * 10">
          <band from="{current-grouping-key()}" n="{count(current-group())}"/>
        </xsl:for-each-group>
      </by-price-band>
      <starting>
        <xsl:for-each-group select="book" group-starting-with="book[@lang = 'en']">
          <part start="{@id}" ids="{current-group()/@id}"/>
        </xsl:for-each-group>
      </starting>
      <ending>
        <xsl:for-each-group select="book" group-ending-with="book[genre = 'fiction']">
          <part end="{current-group()[last()]/@id}" n="{count(current-group())}"/>
        </xsl:for-each-group>
      </ending>
    </groups>
  </xsl:template>

  <xsl:template name="titles">
    <xsl:for-each select="current-group()">
      <title><xsl:value-of select="title"/></title>
    </xsl:for-each>
  </xsl:template>
</xsl:stylesheet>
