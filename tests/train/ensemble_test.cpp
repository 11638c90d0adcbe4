// train::average_models (an ensemble in one model) and ends_in_softmax on it. Expected outputs are
// the members' own predictions averaged here.
#include "ember/nn/layers/core.hpp"
#include "ember/nn/model.hpp"
#include "ember/train/model_files.hpp"
#include "test_support.hpp"

using namespace ember;
using ember::testing::message_of;

namespace {

std::shared_ptr<nn::Sequential> member(int64_t inputs, int64_t classes, Activation last = Activation::Linear) {
  return std::make_shared<nn::Sequential>(std::initializer_list<nn::LayerRef>{
      nn::Input({inputs}), nn::Dense({.units = 5, .activation = Activation::Tanh, .name = "hidden"}),
      nn::Dense({.units = classes, .activation = last, .name = "out"})});
}

}  // namespace

TEST(AverageModels, OutputIsTheMeanOfTheMembersOutputs) {
  manual_seed(3);
  std::vector<std::shared_ptr<nn::Model>> members{member(4, 3), member(4, 3), member(4, 3)};
  auto ensemble = train::average_models(members);
  Tensor x = randn({6, 4});
  Tensor want = (members[0]->predict(x, {}) + members[1]->predict(x, {}) + members[2]->predict(x, {})) / 3.0;
  Tensor got = ensemble->predict(x, {});
  ASSERT_EQ(got.shape(), (Shape{6, 3}));
  EXPECT_LT(max(abs(got - want)).item<float>(), 1e-6f);
  // The members' layers are shared, not copied: training the ensemble trains them.
  EXPECT_EQ(ensemble->count_params(), 3 * members[0]->count_params());
  EXPECT_EQ(ensemble->named_weights()[0].weight, members[0]->named_weights()[0].weight);
  EXPECT_EQ(ensemble->layers()[1]->name(), "member_1");
  EXPECT_FALSE(train::ends_in_softmax(*ensemble));
}

TEST(AverageModels, AnEnsembleOfSoftmaxModelsEndsInASoftmax) {
  std::vector<std::shared_ptr<nn::Model>> members{member(4, 3, Activation::Softmax), member(4, 3, Activation::Softmax)};
  EXPECT_TRUE(train::ends_in_softmax(*train::average_models(members)));
  members.push_back(member(4, 3));
  EXPECT_FALSE(train::ends_in_softmax(*train::average_models(members)));
}

TEST(AverageModels, MembersThatDoNotFitTogetherAreValueErrors) {
  EXPECT_THROW(train::average_models({}), ValueError);
  std::string m = message_of<ValueError>([] { train::average_models({member(4, 3), member(4, 2)}); });
  EXPECT_NE(m.find("member 2"), std::string::npos) << m;
  EXPECT_NE(m.find("[-1,2]"), std::string::npos) << m;
  m = message_of<ValueError>([] { train::average_models({member(4, 3), member(5, 3)}); });
  EXPECT_NE(m.find("[-1,5]"), std::string::npos) << m;
}
