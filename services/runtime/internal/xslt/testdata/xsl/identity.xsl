<?xml version="1.0"?>
<!-- The identity transform: every node copied, with one change. -->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" xmlns:o="urn:example:orders">
  <xsl:template match="@*|node()">
    <xsl:copy>
      <xsl:apply-templates select="@*|node()"/>
    </xsl:copy>
  </xsl:template>
  <!-- Drop the trace header; mark open orders. -->
  <xsl:template match="o:Trace"/>
  <xsl:template match="o:Order[@status='open']/@status">
    <xsl:attribute name="status">pending</xsl:attribute>
  </xsl:template>
</xsl:stylesheet>
