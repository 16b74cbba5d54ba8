<?xml version="1.0"?>
<summary xsl:version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" books="{count(/catalog/book)}">
  <xsl:for-each select="/catalog/book[genre = 'fiction']"><fiction><xsl:value-of select="title"/></fiction></xsl:for-each>
</summary>
