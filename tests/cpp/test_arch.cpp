#include <gtest/gtest.h>

#include "chip/arch.h"
#include "chip/arch_fields.h"

using namespace accel::chip;

TEST(Presets, AllValidateAndCiteEveryField) {
  ASSERT_EQ(preset_names().size(), 3u);
  for (const auto& name : preset_names()) {
    Arch a = preset(name);
    EXPECT_EQ(a.name, name);
    EXPECT_NO_THROW(a.validate());
    visit_arch_fields(a, [&](const char* key, const auto&) {
      EXPECT_TRUE(a.sources.count(key)) << name << " has no source for " << key;
    });
  }
}

TEST(Presets, WormholeFiguresMatchReference) {
  Arch a = preset("wormhole_n150");
  EXPECT_EQ(a.num_cores(), 64);
  EXPECT_EQ(a.l1_bytes_per_core, 1499136);
  EXPECT_EQ(a.dram_bytes, 12LL << 30);
  EXPECT_EQ(a.dram_channels, 12);
  EXPECT_DOUBLE_EQ(a.clock_hz, 1e9);
  EXPECT_EQ(a.matmul_cycles_per_tile(MathFidelity::LoFi), 16);
  EXPECT_EQ(a.matmul_cycles_per_tile(MathFidelity::HiFi4), 64);
  EXPECT_EQ(a.dst_tiles(false), 16);
  EXPECT_EQ(a.dst_tiles(true), 8);
}

TEST(Presets, BlackholeIsLargerThanWormhole) {
  Arch wh = preset("wormhole_n150"), bh = preset("blackhole_p150");
  EXPECT_EQ(bh.num_cores(), 130);
  EXPECT_GT(bh.dram_bytes, wh.dram_bytes);
  EXPECT_GT(bh.dram_bandwidth_bytes_per_s, wh.dram_bandwidth_bytes_per_s);
  EXPECT_GT(bh.clock_hz, wh.clock_hz);
}

TEST(Presets, TinyIsSmall) {
  Arch a = preset("tiny");
  EXPECT_EQ(a.num_cores(), 4);
  EXPECT_EQ(a.dram_bytes, 64LL << 20);
}

TEST(Presets, UnknownNameListsKnownOnes) {
  try {
    preset("wormhole_n300x");
    FAIL() << "expected ArchError";
  } catch (const ArchError& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("wormhole_n300x"), std::string::npos);
    EXPECT_NE(msg.find("blackhole_p150"), std::string::npos);
  }
}

TEST(ArchJson, RoundTripsEveryPreset) {
  for (const auto& name : preset_names()) {
    Arch a = preset(name);
    Arch b = arch_from_json(arch_to_json(a), "roundtrip");
    EXPECT_EQ(arch_to_json(a), arch_to_json(b));
  }
}

TEST(ArchJson, BaseAndOverride) {
  Arch a = arch_from_json(R"({"base": "wormhole_n150", "name": "wh_fast_dram",
                              "dram_bandwidth_bytes_per_s": 576e9})", "inline");
  EXPECT_EQ(a.name, "wh_fast_dram");
  EXPECT_DOUBLE_EQ(a.dram_bandwidth_bytes_per_s, 576e9);
  EXPECT_EQ(a.grid_rows, 8);
  EXPECT_EQ(a.sources["dram_bandwidth_bytes_per_s"], "architecture file inline");
}

TEST(ArchJson, LoadsFile) {
  Arch a = load_arch(TEST_DATA_DIR "/small_chip.json");
  EXPECT_EQ(a.name, "small_chip");
  EXPECT_EQ(a.num_cores(), 6);
}

static std::string error_of(const std::string& text) {
  try {
    arch_from_json(text, "bad.json");
  } catch (const ArchError& e) {
    return e.what();
  }
  return "";
}

TEST(ArchJson, RejectsMalformedAndInconsistentFiles) {
  EXPECT_NE(error_of("{not json").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of("[1, 2]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of(R"({"name": "x"})").find("missing field 'grid_rows'"), std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "grid_rowz": 3})").find("unknown field 'grid_rowz'"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "grid_rows": "8"})").find("must be an integer"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "grid_rows": 0})").find("grid_rows must be positive"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "face_rows": 12})").find("whole number of faces"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "l1_bytes_per_core": 8192})").find("six fp32 tiles"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "dram_page_bytes": 3000})").find("power of two"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "no_such_chip"})").find("unknown accel architecture preset"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"base": "tiny", "sources": {"bogus": "x"}})").find("'sources' entry"),
            std::string::npos);
}

TEST(ArchJson, MissingFileIsAClearError) {
  EXPECT_THROW(load_arch("/no/such/arch.json"), ArchError);
}
