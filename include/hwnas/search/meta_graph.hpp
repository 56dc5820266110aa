#pragma once
// GRAM's accumulated structure knowledge (algorithms.md 4.2), as the pruner
// reads it: running importances of the meta-graph's nodes and edges in a
// node-wise DAG space. A node is a choice point (its op), an edge an edge
// variable of the space. Importances are exponential moving averages of
// first-order Taylor saliencies |<h, dL/dh>|, so larger means removing it
// would change the loss more.
#include <vector>

namespace hwnas {

struct structure_importance {
    std::vector<double> nodes;  // per choice point
    std::vector<double> edges;  // per edge variable
};

}  // namespace hwnas
