#include "engines/model_table.h"

#include <gtest/gtest.h>

#include <string>

namespace accel {
namespace {

struct Model {
  std::string artifact;
};

TEST(ModelTable, PutFindTakeAndTheNotLoadedError) {
  ModelTable<Model> table("dev:0");
  EXPECT_EQ(table.Find("a"), nullptr);
  table.Put("a", std::make_shared<Model>(Model{"a1"}));
  table.Put("b", std::make_shared<Model>(Model{"b1"}));
  ASSERT_NE(table.Find("a"), nullptr);
  EXPECT_EQ(table.Find("a")->artifact, "a1");
  // Replacing drops the table's reference; a holder of the old one keeps it.
  std::shared_ptr<Model> old = table.Find("a");
  table.Put("a", std::make_shared<Model>(Model{"a2"}));
  EXPECT_EQ(table.Find("a")->artifact, "a2");
  EXPECT_EQ(old->artifact, "a1");
  EXPECT_EQ(old.use_count(), 1);
  std::shared_ptr<Model> taken = table.Take("a");
  ASSERT_NE(taken, nullptr);
  EXPECT_EQ(taken->artifact, "a2");
  EXPECT_EQ(table.Take("a"), nullptr);
  EXPECT_EQ(table.Find("a"), nullptr);
  Status s = table.NotLoaded("a");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "model 'a' is not loaded on dev:0");
}

TEST(ModelTable, TakeAllEmptiesTheTableInNameOrder) {
  ModelTable<Model> table("dev:0");
  table.Put("z", std::make_shared<Model>(Model{"z"}));
  table.Put("m", std::make_shared<Model>(Model{"m"}));
  auto all = table.TakeAll();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->artifact, "m");
  EXPECT_EQ(all[1]->artifact, "z");
  EXPECT_EQ(all[0].use_count(), 1);
  EXPECT_EQ(table.Find("m"), nullptr);
  EXPECT_TRUE(table.TakeAll().empty());
}

}  // namespace
}  // namespace accel
