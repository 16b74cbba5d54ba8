<?xml version="1.0"?>
<!-- XPath 1.0 operators, conversions and the core function library. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text"/>
  <xsl:template name="row">
    <xsl:param name="k"/>
    <xsl:param name="v"/>
    <xsl:value-of select="concat($k, '=', $v, '&#10;')"/>
  </xsl:template>
  <xsl:template match="/catalog">
    <xsl:for-each select="book[1]">
      <xsl:text>nodeset=number: </xsl:text><xsl:value-of select="../book/price = 25"/>
      <xsl:text>&#10;nodeset!=string: </xsl:text><xsl:value-of select="../book/author != 'Smith'"/>
      <xsl:text>&#10;nodeset=nodeset: </xsl:text><xsl:value-of select="../book[1]/author = ../book[3]/author"/>
      <xsl:text>&#10;nodeset&lt;nodeset: </xsl:text><xsl:value-of select="../book[1]/price &lt; ../book[2]/price"/>
      <xsl:text>&#10;number&lt;nodeset: </xsl:text><xsl:value-of select="99 &lt; ../book/price"/>
      <xsl:text>&#10;empty=false(): </xsl:text><xsl:value-of select="nothing = false()"/>
      <xsl:text>&#10;empty!=string: </xsl:text><xsl:value-of select="nothing != ''"/>
      <xsl:text>&#10;bool=number: </xsl:text><xsl:value-of select="true() = 1"/>
      <xsl:text>&#10;string=number: </xsl:text><xsl:value-of select="'1.0' = 1"/>
      <xsl:text>&#10;relational strings: </xsl:text><xsl:value-of select="'10' &gt; '9'"/>
      <xsl:text>&#10;</xsl:text>
    </xsl:for-each>
    <xsl:value-of select="concat(7 div 2, ' ', 7 mod 3, ' ', -7 mod 3, ' ', 1 div 0, ' ', -1 div 0, ' ', 0 div 0, ' ', 0.1 + 0.2, ' ', 1000000 * 1000000, ' ', -0, ' ', 3 - -2, ' ', 2 * 3 + 4)"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(round(2.5), ' ', round(-2.5), ' ', round(-0.4), ' ', floor(-1.5), ' ', ceiling(1.2), ' ', number(' 12 '), ' ', number('1e3'), ' ', number('-.5'), ' ', number(true()), ' ', sum(book[number(price) = price]/price), ' ', count(//*))"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(substring('12345', 1.5, 2.6), '|', substring('12345', 0, 3), '|', substring('12345', 0 div 0, 3), '|', substring('12345', -42, 1 div 0), '|', substring('Müller', 2))"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(substring-before('a=b=c', '='), '|', substring-after('a=b=c', '='), '|', substring-after('abc', 'x'), '|', translate('--aaa--', 'abc-', 'ABC'), '|', normalize-space('  a   b &#9; c '), '|', string-length('Grüße'), '|', starts-with('apple', 'app'), '|', contains('apple', 'pl'))"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(boolean(''), boolean('false'), boolean(0), boolean(-0.0001), boolean(/nothing), not(book))"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(string(1.50), ' ', string(-3), ' ', 1 div 3, ' ', 123456789012345678901234567890, ' ', string(/catalog/book[2]/@id), ' ', string(book[2]/title), '|')"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(name(book[1]/@lang), ' ', local-name(), ' ', namespace-uri(), ' ', name(/), '|', count(book[@lang = 'en'][position() = last()]), ' ', book[last()]/@id, ' ', book[position() = 2 or position() = 4]/@id)"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:for-each select="book[lang('en')]"><xsl:value-of select="@id"/></xsl:for-each>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(system-property('xsl:version'), ' ', function-available('concat'), function-available('document'), function-available('exsl:node-set'), element-available('xsl:for-each'), element-available('xsl:import'))" xmlns:exsl="http://exslt.org/common"/>
    <xsl:text>&#10;</xsl:text>
    <xsl:value-of select="concat(upper-case('abc'), lower-case('ÀB'), ends-with('file.xml', '.xml'), matches('A-12', '^[A-Z]-\d+$'), replace('2024-01-31', '(\d+)-(\d+)-(\d+)', '$3.$2.$1'), ' ', string-join(book/@id, ','))"/>
    <xsl:text>&#10;</xsl:text>
  </xsl:template>
</xsl:stylesheet>
