//! Named transactions: every write has a step name, and a cancelled transaction says which step's
//! condition failed (`StoreError::Conflict { step }`), so a checkout reserving twenty stock lines
//! can tell the client which line was short. Repositories build them; handlers only combine them
//! and hand them to `Table::commit`.

use std::sync::Arc;

use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use crate::StoreError;
use crate::entity::Entity;
use crate::table::{Change, Expr, key_item, to_item};

/// At most this many writes fit one DynamoDB transaction.
pub const MAX_STEPS: usize = 100;

/// Writes that succeed together or not at all. Opaque outside the store.
#[derive(Debug, Clone)]
pub struct Tx {
    table: Arc<str>,
    steps: Vec<Step>,
}

/// A step's name; several writes may share one (the lines of a checkout share `line:<sku>` names).
pub type StepName = std::borrow::Cow<'static, str>;

#[derive(Debug, Clone)]
struct Step {
    name: StepName,
    write: TransactWriteItem,
}

fn invalid(e: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("building a transaction: {e}"))
}

impl Tx {
    pub(crate) fn new(table: Arc<str>) -> Self {
        Self { table, steps: Vec::new() }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// The step names in order (for logs and tests).
    pub fn step_names(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.name.as_ref()).collect()
    }

    /// Appends the steps of `other` (built on the same table).
    pub fn and(mut self, other: Tx) -> Self {
        debug_assert_eq!(self.table, other.table, "a transaction spans one table");
        self.steps.extend(other.steps);
        self
    }

    fn push(&mut self, name: impl Into<StepName>, write: TransactWriteItem) -> &mut Self {
        self.steps.push(Step { name: name.into(), write });
        self
    }

    /// Puts a whole record under an optional condition.
    pub(crate) fn put<E: Entity>(
        &mut self,
        step: impl Into<StepName>,
        record: &E,
        condition: Option<Expr>,
    ) -> Result<&mut Self, StoreError> {
        self.put_with(step, record, condition, false)
    }

    /// [`Self::put`], and when its condition fails the cancelled transaction hands back the record
    /// as it is (see `Table::commit_once`).
    pub(crate) fn put_returning<E: Entity>(
        &mut self,
        step: impl Into<StepName>,
        record: &E,
        condition: Option<Expr>,
    ) -> Result<&mut Self, StoreError> {
        self.put_with(step, record, condition, true)
    }

    fn put_with<E: Entity>(
        &mut self,
        step: impl Into<StepName>,
        record: &E,
        condition: Option<Expr>,
        returning: bool,
    ) -> Result<&mut Self, StoreError> {
        let put = Put::builder()
            .table_name(self.table.as_ref())
            .set_item(Some(to_item(record)?))
            .set_condition_expression(condition.as_ref().map(|c| c.expression.clone()))
            .set_expression_attribute_names(condition.as_ref().and_then(Expr::names_opt))
            .set_expression_attribute_values(condition.as_ref().and_then(Expr::values_opt))
            .set_return_values_on_condition_check_failure(
                returning.then_some(ReturnValuesOnConditionCheckFailure::AllOld),
            )
            .build()
            .map_err(invalid)?;
        Ok(self.push(step, TransactWriteItem::builder().put(put).build()))
    }

    /// Updates a record in place.
    pub(crate) fn update<E: Entity>(
        &mut self,
        step: impl Into<StepName>,
        id: &E::Id,
        change: Change,
    ) -> Result<&mut Self, StoreError> {
        let (names, values) = change.merged();
        let update = Update::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(key_item(&E::key(id))))
            .update_expression(change.update.expression)
            .set_condition_expression(change.condition.map(|c| c.expression))
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_return_values_on_condition_check_failure(
                change.return_item_on_failure.then_some(ReturnValuesOnConditionCheckFailure::AllOld),
            )
            .build()
            .map_err(invalid)?;
        Ok(self.push(step, TransactWriteItem::builder().update(update).build()))
    }

    /// Deletes a record under an optional condition.
    pub(crate) fn delete<E: Entity>(
        &mut self,
        step: impl Into<StepName>,
        id: &E::Id,
        condition: Option<Expr>,
    ) -> Result<&mut Self, StoreError> {
        let delete = Delete::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(key_item(&E::key(id))))
            .set_condition_expression(condition.as_ref().map(|c| c.expression.clone()))
            .set_expression_attribute_names(condition.as_ref().and_then(Expr::names_opt))
            .set_expression_attribute_values(condition.as_ref().and_then(Expr::values_opt))
            .build()
            .map_err(invalid)?;
        Ok(self.push(step, TransactWriteItem::builder().delete(delete).build()))
    }

    /// A condition on a record the transaction does not write.
    pub(crate) fn check<E: Entity>(
        &mut self,
        step: impl Into<StepName>,
        id: &E::Id,
        condition: Expr,
    ) -> Result<&mut Self, StoreError> {
        let check = ConditionCheck::builder()
            .table_name(self.table.as_ref())
            .set_key(Some(key_item(&E::key(id))))
            .condition_expression(&condition.expression)
            .set_expression_attribute_names(condition.names_opt())
            .set_expression_attribute_values(condition.values_opt())
            .build()
            .map_err(invalid)?;
        Ok(self.push(step, TransactWriteItem::builder().condition_check(check).build()))
    }

    pub(crate) fn into_parts(self) -> (Vec<StepName>, Vec<TransactWriteItem>) {
        self.steps.into_iter().map(|s| (s.name, s.write)).unzip()
    }
}
