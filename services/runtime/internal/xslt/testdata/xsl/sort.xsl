<?xml version="1.0"?>
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output omit-xml-declaration="yes" indent="yes"/>
  <xsl:param name="order" select="'descending'"/>
  <xsl:template match="/catalog">
    <sorted>
      <by-title><xsl:for-each select="book"><xsl:sort select="title"/><t><xsl:value-of select="title"/></t></xsl:for-each></by-title>
      <by-title-upper-first><xsl:for-each select="book"><xsl:sort select="substring(title, 1, 1)" case-order="upper-first"/><xsl:sort select="@id" order="descending"/><t><xsl:value-of select="title"/></t></xsl:for-each></by-title-upper-first>
      <by-price-number><xsl:for-each select="book"><xsl:sort select="price" data-type="number"/><p><xsl:value-of select="price"/></p></xsl:for-each></by-price-number>
      <by-price-text><xsl:for-each select="book"><xsl:sort select="price"/><p><xsl:value-of select="price"/></p></xsl:for-each></by-price-text>
      <by-author-then-price><xsl:apply-templates select="book"><xsl:sort select="author"/><xsl:sort select="price" data-type="number" order="{$order}"/></xsl:apply-templates></by-author-then-price>
      <positions><xsl:for-each select="book"><xsl:sort select="@id" order="descending"/><xsl:value-of select="position()"/>:<xsl:value-of select="@id"/><xsl:if test="position() != last()">,</xsl:if></xsl:for-each></positions>
    </sorted>
  </xsl:template>
  <xsl:template match="book"><a><xsl:value-of select="concat(author, ' ', price)"/></a></xsl:template>
</xsl:stylesheet>
