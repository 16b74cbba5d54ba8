<?xml version="1.0"?>
<!-- as="…" on parameters and variables: policy parameters arrive as
     strings and are converted (xs:integer, xs:boolean, xs:double), content
     becomes a string or a sequence of elements rather than a document
     node, and a string sequence holds tokens. -->
<xsl:stylesheet version="2.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:xs="http://www.w3.org/2001/XMLSchema" exclude-result-prefixes="xs">
  <xsl:output method="xml" indent="yes" omit-xml-declaration="yes"/>
  <xsl:strip-space elements="*"/>
  <xsl:param name="limit" as="xs:integer" select="10"/>
  <xsl:param name="verbose" as="xs:boolean" select="true()"/>
  <xsl:param name="rate" as="xs:double" select="1"/>
  <xsl:param name="tags" as="xs:string" select="''"/>
  <xsl:variable name="cheap" as="element()*">
    <xsl:for-each select="/catalog/book[number(price) &lt; 20]">
      <cheap id="{@id}"><xsl:value-of select="title"/></cheap>
    </xsl:for-each>
  </xsl:variable>
  <xsl:variable name="label" as="xs:string">
    <xsl:value-of select="concat('books: ', count(/catalog/book))"/>
  </xsl:variable>
  <xsl:variable name="tag-list" as="xs:string*" select="tokenize($tags, ',')"/>

  <xsl:template match="/catalog">
    <result limit="{$limit}" next="{$limit + 1}" verbose="{$verbose}" label="{$label}">
      <xsl:if test="$verbose"><verbose/></xsl:if>
      <xsl:if test="not($verbose)"><quiet/></xsl:if>
      <cheap count="{count($cheap)}" first="{$cheap[1]/@id}" names="{$cheap}"/>
      <xsl:for-each select="book[position() &lt;= $limit][number(price) = number(price)]">
        <xsl:call-template name="priced">
          <xsl:with-param name="price" select="price"/>
        </xsl:call-template>
      </xsl:for-each>
      <tags n="{count($tag-list)}"><xsl:value-of select="$tag-list" separator=";"/></tags>
    </result>
  </xsl:template>

  <xsl:template name="priced">
    <xsl:param name="price" as="xs:double?"/>
    <xsl:param name="currency" as="xs:string" select="'EUR'"/>
    <book id="{@id}" price="{$price * $rate}" currency="{$currency}"/>
  </xsl:template>
</xsl:stylesheet>
