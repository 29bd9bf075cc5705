// The S3 endpoint's XML writer and its strict, bounded reader.
#include "data/objects/xml.h"

#include <gtest/gtest.h>

namespace stoa::objects::xml {
namespace {

TEST(Xml, WriterEscapes) {
  Writer w;
  w.open("A", "urn:x").element("K", "<&>\"'\x01").close("A");
  EXPECT_EQ(w.take(),
            R"(<?xml version="1.0" encoding="UTF-8"?><A xmlns="urn:x"><K>&lt;&amp;&gt;&quot;&apos;)"
            "\xEF\xBF\xBD</K></A>");
}

TEST(Xml, ParsesTheCompleteMultipartUploadBody) {
  auto doc = parse(R"(<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><PartNumber>1</PartNumber><ETag>&quot;abc&quot;</ETag></Part>
  <!-- a comment -->
  <Part><PartNumber>2</PartNumber><ETag><![CDATA["def"]]></ETag></Part>
</CompleteMultipartUpload>)");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "CompleteMultipartUpload");
  ASSERT_EQ(doc->children.size(), 2u);
  EXPECT_EQ(doc->children[0].child("ETag")->text, "\"abc\"");
  EXPECT_EQ(doc->children[1].child("ETag")->text, "\"def\"");
  EXPECT_EQ(doc->children[1].child("PartNumber")->text, "2");
  EXPECT_EQ(parse("<a>&#x41;&#66;</a>")->text, "AB");
}

TEST(Xml, RefusesWhatItDoesNotNeed) {
  EXPECT_FALSE(parse(R"(<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>)"));
  EXPECT_FALSE(parse("<a>&x;</a>"));
  EXPECT_FALSE(parse("<a><b></a></b>"));
  EXPECT_FALSE(parse("<a>"));
  EXPECT_FALSE(parse("<a></a><b></b>"));
  EXPECT_FALSE(parse("<a>&#0;</a>"));
  std::string deep;
  for (int i = 0; i < 20; ++i) deep += "<a>";
  for (int i = 0; i < 20; ++i) deep += "</a>";
  EXPECT_EQ(parse(deep).error().code, Errc::too_large);
  EXPECT_EQ(parse("<a>" + std::string(100, 'x') + "</a>", {.max_bytes = 50}).error().code,
            Errc::too_large);
}

}  // namespace
}  // namespace stoa::objects::xml
